"""Run the mock with uvicorn: `python -m mock_whatsapp`."""

import uvicorn

from mock_whatsapp.settings import Settings


def main() -> None:
    settings = Settings()
    uvicorn.run(
        "mock_whatsapp.main:app",
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # Event streams never end by themselves: without a limit, one open inspector page
        # or simulator would hold a shutdown forever.
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
