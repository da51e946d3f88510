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
        # libuv's event loop and the C HTTP parser: several times the requests a second
        # of asyncio and h11 for the same work.
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
