"""Stopping, starting and restarting the stack's services, for scenario steps that do.

Two ways, as `scripts/up` has two ways of running the stack: native processes (restarted
by `scripts/lib/stack.py`, which knows how `up` started them) and Docker Compose
(`docker compose restart`). `choose_controller` picks the one the running stack needs:
`--stack`, else `STACK_MODE`, else what `scripts/up` recorded in `.stack/mode`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

import httpx

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.settings import Settings

MODES = ("native", "compose", "none")
READY_TIMEOUT = 90.0  # delivery's start-up includes its migrations

# Runs a command in a folder; returns its exit code and what it printed.
CommandRunner = Callable[[list[str], Path], Awaitable[tuple[int, str]]]
ReadyProbe = Callable[[str], Awaitable[bool]]


class StackController(Protocol):
    """Stops and starts the stack's services, for the steps that do (`restart`, say)."""

    async def stop(self, service: str) -> None: ...

    async def start(self, service: str) -> None:
        """Start the service and return once it is ready."""

    async def restart(self, service: str) -> None:
        """Stop the service, start it again and return once it is ready."""


class StackControlError(StackError):
    """The service could not be stopped or started, or no way to do it is available."""


async def run_command(command: list[str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    return proc.returncode or 0, output.decode(errors="replace")


class NativeStackControl:
    """Restarts a native stack's processes through `scripts/lib/stack.py`, which starts
    each one with the settings that `scripts/up` (or a test) recorded in its state folder,
    and waits for its /readyz."""

    def __init__(
        self, root: Path, state_dir: Path | None = None, run: CommandRunner = run_command
    ) -> None:
        self.root = root
        self.state_dir = state_dir or root / ".stack" / "native"
        self.run = run

    def command(self, verb: str, service: str) -> list[str]:
        venv_python = self.root / ".venv" / "bin" / "python"
        python = str(venv_python) if venv_python.exists() else sys.executable
        script = str(self.root / "scripts" / "lib" / "stack.py")
        return [python, script, "--state", str(self.state_dir), verb, service]

    async def stop(self, service: str) -> None:
        await self._do("stop", service)

    async def start(self, service: str) -> None:
        await self._do("start", service)

    async def restart(self, service: str) -> None:
        await self._do("restart", service)

    async def _do(self, verb: str, service: str) -> None:
        code, output = await self.run(self.command(verb, service), self.root)
        if code != 0:
            raise StackControlError(f"could not {verb} {service} (native): {output.strip()}")


async def is_ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url.rstrip('/')}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


class ComposeStackControl:
    """Restarts a Compose stack's containers; a started service counts once its /readyz
    answers at the address the simulator uses (compose's own health checks lag behind)."""

    def __init__(
        self,
        root: Path,
        urls: Mapping[str, str],
        run: CommandRunner = run_command,
        ready: ReadyProbe = is_ready,
        timeout: float = READY_TIMEOUT,
    ) -> None:
        self.root, self.urls = root, urls
        self.run, self.ready, self.timeout = run, ready, timeout

    async def stop(self, service: str) -> None:
        await self._compose("stop", service)

    async def start(self, service: str) -> None:
        await self._compose("start", service)
        await self._wait_ready(service)

    async def restart(self, service: str) -> None:
        await self._compose("restart", service)
        await self._wait_ready(service)

    async def _compose(self, verb: str, service: str) -> None:
        code, output = await self.run(["docker", "compose", verb, service], self.root)
        if code != 0:
            raise StackControlError(f"docker compose {verb} {service} failed: {output.strip()}")

    async def _wait_ready(self, service: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not await self.ready(self.urls[service]):
            if time.monotonic() >= deadline:
                raise StackControlError(f"{service} not ready after {self.timeout:.0f}s")
            await asyncio.sleep(0.2)


def find_root(start: Path | None = None) -> Path | None:
    """The repository holding scripts/lib/stack.py: above `start` (the working folder),
    else above this package (an editable install)."""
    for base in (start or Path.cwd(), Path(__file__).resolve()):
        for folder in (base, *base.parents):
            if (folder / "scripts" / "lib" / "stack.py").exists():
                return folder
    return None


def choose_mode(
    requested: str | None, root: Path | None, env: Mapping[str, str] | None = None
) -> str:
    """native, compose or none: `requested` (--stack), else STACK_MODE, else what
    scripts/up recorded in .stack/mode, else a native stack's state if there is one."""
    env = os.environ if env is None else env
    if requested:
        if requested not in MODES:
            raise StackControlError(f"--stack must be one of {', '.join(MODES)}")
        return requested
    forced = env.get("STACK_MODE", "")
    if forced:
        if forced not in ("native", "compose"):
            raise StackControlError(f"STACK_MODE must be compose or native, not {forced!r}")
        return forced
    if root is not None:
        recorded = root / ".stack" / "mode"
        if recorded.exists():
            mode = recorded.read_text().strip()
            if mode in ("native", "compose"):
                return mode
        if (root / ".stack" / "native" / "stack.json").exists():
            return "native"
    return "none"


def choose_controller(
    requested: str | None, settings: Settings, root: Path | None = None
) -> NativeStackControl | ComposeStackControl | None:
    """The controller for the running stack (None for `--stack none`); raises
    StackControlError saying why when the chosen way cannot work here."""
    if requested == "none":
        return None
    root = root or find_root()
    mode = choose_mode(requested, root)
    if root is None:
        raise StackControlError(
            "no stack controller: this does not run from the repository (no "
            "scripts/lib/stack.py above the working folder), so neither a native nor a "
            "Compose stack can be restarted from here"
        )
    if mode == "none":
        raise StackControlError(
            "no stack controller: no stack started by ./scripts/up was found (.stack/mode); "
            "start one, or pass --stack native|compose"
        )
    if mode == "native":
        state = root / ".stack" / "native"
        if not (state / "stack.json").exists() and not (state / "run").is_dir():
            raise StackControlError(
                f"no native stack in {state}: start it with ./scripts/up (STACK_MODE=native)"
            )
        return NativeStackControl(root, state)
    if shutil.which("docker") is None:
        raise StackControlError("the stack runs in Docker Compose, but `docker` is not here")
    urls = {
        "delivery": settings.delivery_url,
        "agent": settings.agent_url,
        "mock_whatsapp": settings.mock_wa_url,
    }
    return ComposeStackControl(root, urls)


def controller_or_reason(
    settings: Settings, requested: str | None = None
) -> tuple[NativeStackControl | ComposeStackControl | None, str]:
    """`choose_controller`, or None and why not, for a runner to tell its steps."""
    try:
        return choose_controller(requested, settings), ""
    except StackControlError as exc:
        return None, str(exc)
