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
        # What one client may hold: an idle keep-alive closes after 5 s, headers are capped
        # at h11's 16 KiB (bodies by body_limit.py). uvicorn has no timeout for a slow body; the
        # cap bounds what it costs.
        timeout_keep_alive=5,
        # Event streams never end by themselves: without a limit, one open inspector page
        # or simulator would hold a shutdown forever.
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
