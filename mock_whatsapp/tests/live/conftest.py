"""The mock run as a real process (`python -m mock_whatsapp`) with a real webhook
receiver, and its inspector page in headless Chromium.

Chromium is Debian's package (scripts/test installs it); Playwright drives it through its
bundled driver and never downloads a browser of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pgcluster
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

SECRET = "inspector-secret"
TOKEN = "inspector-token"
PHONE_NUMBER_ID = "123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Webhooks:
    """A webhook endpoint on a real port: checks each signature and keeps what it got."""

    received: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts(self) -> list[str]:
        with self.lock:
            return [
                m.get("text", {}).get("body")
                or m.get("interactive", {}).get("button_reply", {}).get("title", "")
                for p in self.received
                for e in p["entry"]
                for c in e["changes"]
                for m in c["value"].get("messages", [])
            ]


@pytest.fixture
def webhooks() -> Iterator[tuple[Webhooks, str]]:
    got = Webhooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signature = self.headers.get("X-Hub-Signature-256", "")
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, expected):
                self.send_response(401)
                self.end_headers()
                return
            with got.lock:
                got.received.append(json.loads(body))
                got.signatures.append(signature)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status":"ok"}')

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}/webhooks/whatsapp"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mock_process(
    webhooks: tuple[Webhooks, str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m mock_whatsapp` on a free port, memory only: its base URL and process."""
    port = pgcluster.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MOCK_WA_")},
        "MOCK_WA_HOST": "127.0.0.1",
        "MOCK_WA_PORT": str(port),
        "MOCK_WA_WEBHOOK_URL": webhooks[1],
        "MOCK_WA_APP_SECRET": SECRET,
        "MOCK_WA_ACCESS_TOKEN": TOKEN,
        "MOCK_WA_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "MOCK_WA_STATUS_DELAY_SECONDS": "0.2",
    }
    log = (tmp_path / "mock.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_whatsapp"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "mock.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the mock did not become ready"
            time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def mock_url(mock_process: tuple[str, subprocess.Popen[bytes]]) -> str:
    return mock_process[0]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(
            f"{CHROMIUM} is missing: ./scripts/test installs Debian's chromium package "
            "(ensure_chromium in scripts/lib/bootstrap.sh)"
        )
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser: Browser, mock_url: str) -> Iterator[Page]:
    """The inspector, opened and following the event stream."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(mock_url + "/")
    page.locator("#live[data-state=live]").wait_for(timeout=10_000)
    try:
        yield page
    finally:
        context.close()
    assert problems == [], f"the page raised: {problems}"
