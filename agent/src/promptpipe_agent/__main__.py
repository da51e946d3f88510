"""Run the agent with uvicorn: `python -m promptpipe_agent`."""

from promptpipe_service.serve import serve

from promptpipe_agent.settings import Settings


def main() -> None:
    settings = Settings()
    # A stop waits at most 10 s for the turns under way (a model call takes seconds).
    serve("promptpipe_agent.main:app", settings.host, settings.port, graceful_shutdown_seconds=10)


if __name__ == "__main__":
    main()
