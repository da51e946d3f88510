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
    )


if __name__ == "__main__":
    main()
