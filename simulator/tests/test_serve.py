"""`simulator serve` puts the TUI in a browser page, with its assets served locally."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_with_the_app_page() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "promptpipe_simulator", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = None
        for _ in range(100):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert page is not None and page.status_code == 200
        assert "PromptPipe simulator" in page.text
        script = httpx.get(f"http://127.0.0.1:{port}/static/js/textual.js", timeout=5)
        assert script.status_code == 200  # served here, not fetched from the internet
    finally:
        server.terminate()
        server.wait(timeout=10)
