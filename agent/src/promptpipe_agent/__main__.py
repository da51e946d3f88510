"""Run the agent with uvicorn: `python -m promptpipe_agent`."""

import uvicorn

from promptpipe_agent.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        "promptpipe_agent.main:app",
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # What one client may hold: an idle keep-alive closes after 5 s, headers are capped
        # at h11's 16 KiB (bodies by body_limit.py), and a stop waits at most 10 s for requests
        # under way. uvicorn has no timeout for a slow body; the cap bounds what it costs.
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
