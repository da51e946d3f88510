"""`simulator serve`: the TUI in web browsers, through textual-serve, working offline and
leaving no app process behind.

Each browser tab gets its own app process. textual-serve's page loads a web font from the
internet; ours (web/app_index.html) takes the same font from textual-serve's static files.
The app process is started with `exec`, so it is serve's own child rather than a shell's,
and it watches its parent: when serve is gone (stopped, killed, crashed) the app ends, and
if it cannot end cleanly within a few seconds, the process ends anyway. When a tab closes,
serve tells its app to quit. When serve is asked to stop while tabs are open, it ends
their sessions first (textual-serve alone would wait a minute for the browsers to hang up).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from textual.app import App
from textual_serve.server import Server

WEB = Path(__file__).parent / "web"


class SimulatorServer(Server):
    """textual-serve's server, which ends its browser sessions when it stops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: set[asyncio.Task[Any]] = set()

    async def handle_websocket(self, request: Any) -> Any:
        session = asyncio.current_task()
        assert session is not None
        self.sessions.add(session)
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions.discard(session)

    async def on_shutdown(self, app: Any) -> None:
        # Canceling a session closes its websocket and tells its app to quit.
        for session in list(self.sessions):
            session.cancel()
        if self.sessions:
            await asyncio.wait(list(self.sessions), timeout=5)
        for pid in app_children():  # any app that did not quit: ParentWatch would, later
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def app_children() -> list[int]:
    """This process's children still running (Linux's /proc; elsewhere none are found,
    and ParentWatch ends them once serve has exited)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():
                children.append(int(stat.parent.name))
    return children


def serve(host: str, port: int, public_url: str | None = None) -> None:
    """Serve the TUI until interrupted."""
    command = f"exec {shlex.quote(sys.executable)} -m promptpipe_simulator tui --served"
    SimulatorServer(
        command,
        host=host,
        port=port,
        title="PromptPipe simulator",
        public_url=public_url,
        templates_path=str(WEB),
    ).serve()


class ParentWatch:
    """In an app process that serve started: end the app when serve is gone, and the
    process `grace_seconds` later if the app has not managed to end by then."""

    def __init__(self, app: App[None], grace_seconds: float = 5.0, every: float = 0.5) -> None:
        self.app = app
        self.parent = os.getppid()
        self.grace_seconds, self.every = grace_seconds, every

    def start(self) -> None:
        threading.Thread(target=self._watch, name="parent-watch", daemon=True).start()

    def _watch(self) -> None:
        while os.getppid() == self.parent:
            time.sleep(self.every)
        # Reparented: serve is gone, and nobody reads what the app draws any more.
        with contextlib.suppress(RuntimeError):  # the app is not running (any more)
            self.app.call_from_thread(self.app.exit)
        time.sleep(self.grace_seconds)
        os._exit(0)
