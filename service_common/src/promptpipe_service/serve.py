"""Run a service's ASGI app with uvicorn, with the options every Python service shares."""

from __future__ import annotations

import uvicorn

from promptpipe_service.http_head import CappedHttpToolsProtocol


def serve(app: str, host: str, port: int, *, graceful_shutdown_seconds: int) -> None:
    """Serve `app` ("package.module:attribute") until stopped; a stop waits at most
    `graceful_shutdown_seconds` for requests under way, then closes what is left."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        # Logging is the service's own (logs.configure, JSON lines), and there is no
        # access line per request: its cost is paid on every request, for a line nobody
        # reads (and a full phone number in every control path).
        log_config=None,
        access_log=False,
        # libuv's event loop and the C HTTP parser: several times the requests a second
        # of asyncio and h11 for the same work, so the services are not the bottleneck of
        # a load test (the mock must keep up with Meta's pace, 1,000 messages a second).
        # The parser with a cap on request heads (http_head.py), as h11 had.
        loop="uvloop",
        http=CappedHttpToolsProtocol,
        # What one client may hold: an idle keep-alive connection closes after 5 s, a
        # request's head is capped at 16 KiB (bodies by body_limit.py). uvicorn has no
        # timeout for a slow body; the cap bounds what it costs.
        timeout_keep_alive=5,
        timeout_graceful_shutdown=graceful_shutdown_seconds,
    )
