"""`simulator serve` in headless Chromium: the page asks nothing of any host but
127.0.0.1, and each tab's app process ends when the tab closes or when serve stops.

Chromium is Debian's package (scripts/test installs it); Playwright drives it through its
bundled driver and never downloads a browser of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
APP = "promptpipe_simulator tui --served"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_processes(server: subprocess.Popen[bytes]) -> list[int]:
    """The pids of the app processes this serve started (one per browser tab); never
    anyone else's, who may be running the same test."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            group = os.getpgid(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        # Once serve has gone, its orphans are re-parented: they count by their group.
        if APP in cmdline and server.pid in (parent, group):
            pids.append(int(entry.name))
    return pids


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds:.0f} s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`simulator serve` on a free port, its apps pointed at a stack that is not there
    (they say so and keep running)."""
    port, nowhere = free_port(), f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "SIM_DELIVERY_URL": nowhere, "SIM_MOCK_WA_URL": nowhere}
    env["SIM_AGENT_URL"] = nowhere
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "promptpipe_simulator", "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own group: the cleanup below reaches its children
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), "serve did not answer")
        yield url, server
    finally:
        for pid in [*app_processes(server), server.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        server.wait(timeout=10)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(
            f"{CHROMIUM} is missing: ./scripts/test installs Debian's chromium package "
            "(ensure_chromium in scripts/lib/bootstrap.sh)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_tab(browser: Browser, url: str, elsewhere: list[str]) -> Page:
    """The simulator in a new tab; any request to another host is refused and noted."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})

    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.goto(url)
    # textual.js marks the page once the app has drawn its first screen.
    page.locator("body.-first-byte").wait_for(timeout=30_000)
    return page


def test_the_page_is_offline_and_each_tabs_app_ends_with_it(
    served: tuple[str, subprocess.Popen[bytes]], browser: Browser
) -> None:
    url, server = served
    elsewhere: list[str] = []
    page = open_tab(browser, url, elsewhere)
    wait_for(lambda: len(app_processes(server)) == 1, "one app for the tab")
    assert elsewhere == [], f"the page asked other hosts: {elsewhere}"
    assert "PromptPipe simulator" in page.title()
    page.context.close()  # the tab closes: its app ends
    wait_for(lambda: app_processes(server) == [], "the app outlived its tab")
    assert server.poll() is None


def test_stopping_serve_ends_its_apps(
    served: tuple[str, subprocess.Popen[bytes]], browser: Browser
) -> None:
    url, server = served
    elsewhere: list[str] = []
    tabs = [open_tab(browser, url, elsewhere) for _ in range(2)]
    wait_for(lambda: len(app_processes(server)) == 2, "one app per tab")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=20)
    wait_for(lambda: app_processes(server) == [], "apps outlived serve")
    for tab in tabs:
        tab.context.close()
    assert elsewhere == []
