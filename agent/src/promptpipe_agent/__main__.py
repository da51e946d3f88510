"""Run the agent with uvicorn: `python -m promptpipe_agent`."""

import uvicorn

from promptpipe_agent.http_head import CappedHttpToolsProtocol
from promptpipe_agent.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        "promptpipe_agent.main:app",
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # libuv's event loop and the C HTTP parser: several times the requests a second
        # of asyncio and h11 for the same work; the parser with a cap on request heads
        # (http_head.py), as h11 had.
        loop="uvloop",
        http=CappedHttpToolsProtocol,
        # What one client may hold: an idle keep-alive closes after 5 s, a request's head
        # is capped at 16 KiB (bodies by body_limit.py), and a stop waits at most 10 s for
        # requests under way. uvicorn has no timeout for a slow body; the cap bounds what
        # it costs.
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
