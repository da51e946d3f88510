"""The mock as a real uvicorn process on a free port, and a webhook receiver served by
uvicorn in a thread: real HTTP on both sides, for tests of client libraries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def mock_process(**env: str) -> Iterator[str]:
    """`python -m mock_whatsapp` with MOCK_WA_* settings; yields its base URL."""
    port = free_port()
    settings = {"MOCK_WA_HOST": "127.0.0.1", "MOCK_WA_PORT": str(port), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_whatsapp"],
        env={**os.environ, **settings},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz")
        yield base
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
        if process.returncode not in (0, -15):
            print(err.decode()[-3000:])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ToMock(httpx.BaseTransport):
    """An httpx transport that sends requests addressed to Meta's host to the mock.

    pywa sets its session's base URL to Meta's Graph API itself; httpx's transports are
    the documented way to route a client elsewhere, so pywa runs unchanged."""

    def __init__(self, base: str) -> None:
        self.base = httpx.URL(base)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self.base.scheme, host=self.base.host, port=self.base.port
        )
        request.headers["Host"] = self.base.netloc.decode()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
