"""Run the mock with uvicorn: `python -m mock_whatsapp`."""

from promptpipe_service.serve import serve

from mock_whatsapp.settings import Settings


def main() -> None:
    settings = Settings()
    # Event streams never end by themselves: without a limit, one open inspector page or
    # simulator would hold a shutdown forever.
    serve("mock_whatsapp.main:app", settings.host, settings.port, graceful_shutdown_seconds=3)


if __name__ == "__main__":
    main()
