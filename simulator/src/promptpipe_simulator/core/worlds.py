"""Saved worlds: the state of the whole stack at one moment, in one file under `worlds/`.

Each service exports and imports its own part through its own API (delivery's and the
agent's `/dev/world`, the mock's `/_mock/world`); nobody reads another's tables. This
module only orders the calls and keeps the file:

- save: pause delivery's work queue (it answers once the turns and sends in flight have
  settled), pause the mock's webhooks and status timelines (it answers once the posts in
  flight are done), export the three parts, resume. A message is then either in the
  world with all that it caused so far, or not in it at all: a webhook the mock had not
  posted is pending in the mock's part, one delivery took but had not answered is a task
  in delivery's part, and both go on after a load.
- load: check the file's version, ask each service to check its part (a dry run, which
  changes nothing), then pause, hand each part back, resume. A world that one service
  refuses is refused before anything changed.

The file: `{"format": "promptpipe-world", "version": 1, "name", "description",
"saved_at" (real time), "now" (the stack's virtual time), "summary", "services":
{"delivery": ..., "agent": ..., "mock_whatsapp": ...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from promptpipe_simulator.core.clients import (
    AgentClient,
    DeliveryClient,
    MockWhatsAppClient,
    Refused,
    StackError,
    _call,
)

FORMAT = "promptpipe-world"
VERSION = 1
SERVICES = ("delivery", "agent", "mock_whatsapp")
SUFFIX = ".world.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A pause lifts itself after this long if the simulator dies before resuming.
PAUSE_LIMIT_SECONDS = 120
# Saving or loading fifty participants' two weeks is a few megabytes each way.
TIMEOUT = httpx.Timeout(120, connect=5)

# How to bring a file of an older version up to this one: version -> function. None yet;
# a version with no way up is refused with a sentence saying so.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class WorldError(StackError):
    """A world that cannot be saved, found or loaded; the message says why."""


@dataclass
class WorldInfo:
    """A saved world as the list shows it."""

    name: str
    path: Path
    size_bytes: int
    saved_at: str = ""
    now: str = ""
    description: str = ""
    participants: int = 0
    messages: int = 0


@dataclass
class Timing:
    """How long a save or load took, and its parts (seconds)."""

    total: float = 0.0
    pause: float = 0.0
    transfer: float = 0.0
    file: float = 0.0
    size_bytes: int = 0


class WorldFolder:
    """The files: `<folder>/<name>.world.json`, written whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        if not NAME.match(name):
            raise WorldError(
                f"{name!r} is not a world name: letters, digits, '.', '_' and '-', "
                "at most 64, starting with a letter or digit"
            )
        return self.folder / f"{name}{SUFFIX}"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def read(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            known = ", ".join(w.name for w in self.list()) or "none yet"
            raise WorldError(f"No world {name!r} in {self.folder} (saved: {known})") from None
        except ValueError as exc:
            raise WorldError(f"{path} is not a world file: {exc}") from None
        return check_version(data, str(path))

    def write(self, name: str, world: dict[str, Any]) -> int:
        """Write the file atomically (a reader never sees half of it); its size."""
        path = self.path(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(world, separators=(",", ":")).encode()
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, path)
        return len(data)

    def delete(self, name: str) -> None:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            raise WorldError(f"No world {name!r} in {self.folder}") from None

    def list(self) -> list[WorldInfo]:
        """Every saved world, by name."""
        found = []
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            info = WorldInfo(path.name[: -len(SUFFIX)], path, path.stat().st_size)
            try:
                data = json.loads(path.read_bytes())
            except ValueError:
                info.description = "(not a world file)"
            else:
                summary = data.get("summary") or {}
                info.saved_at = str(data.get("saved_at", ""))
                info.now = str(data.get("now", ""))
                info.description = str(data.get("description", ""))
                info.participants = int(summary.get("participants", 0))
                info.messages = int(summary.get("messages", 0))
            found.append(info)
        return found


def check_version(data: Any, source: str) -> dict[str, Any]:
    """The world in this version's shape, upgraded if it is older and a way up exists;
    otherwise a WorldError that says what the file is and what this simulator reads."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise WorldError(f'{source} is not a world file (no "format": "{FORMAT}")')
    version = data.get("version")
    if not isinstance(version, int):
        raise WorldError(f"{source} has no version number")
    if version > VERSION:
        raise WorldError(
            f"{source} was saved by a newer simulator (world version {version}); this one "
            f"reads version {VERSION} and older: update the simulator"
        )
    while version < VERSION:
        upgrade = UPGRADES.get(version)
        if upgrade is None:
            raise WorldError(
                f"{source} is a world of version {version}, which this simulator (version "
                f"{VERSION}) cannot load: generate it again (simulator world generate) or "
                "save it again with the simulator that made it"
            )
        data = upgrade(data)
        version = data["version"]
    services = data.get("services")
    if not isinstance(services, dict) or set(services) != set(SERVICES):
        raise WorldError(f"{source} must hold the parts of {', '.join(SERVICES)}")
    world: dict[str, Any] = data
    return world


class Worlds:
    """Save and load the whole stack through its services' own APIs."""

    def __init__(
        self,
        delivery: DeliveryClient,
        agent: AgentClient,
        mock: MockWhatsAppClient,
        folder: WorldFolder,
    ) -> None:
        self.delivery, self.agent, self.mock, self.folder = delivery, agent, mock, folder
        self.http = delivery.client

    # --- the services' endpoints ----------------------------------------------------

    def _endpoints(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Per service: its world URL and the headers it wants."""
        return {
            "delivery": (f"{self.delivery.base}/dev/world", self.delivery.headers),
            "agent": (f"{self.agent.base}/dev/world", self.agent.headers),
            "mock_whatsapp": (f"{self.mock.base}/_mock/world", {}),
        }

    async def _request(
        self, service: str, method: str, suffix: str = "", **kwargs: Any
    ) -> httpx.Response:
        url, headers = self._endpoints()[service]
        try:
            return await _call(
                self.http, service, method, url + suffix, headers=headers, timeout=TIMEOUT, **kwargs
            )
        except Refused as exc:
            if exc.status in (404, 405):
                raise WorldError(
                    f"{service} has no world API (is it the dev stack, DEV_CLOCK=true, and "
                    "up to date?)"
                ) from exc
            raise

    async def _paused(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run `work` with delivery's queue and the mock's webhooks paused, delivery
        first (its turns in flight may still send to the mock), and resume both after,
        whatever happens."""
        pause = {"json": {"limit_seconds": PAUSE_LIMIT_SECONDS}}
        paused: list[str] = []
        try:
            for service in ("delivery", "mock_whatsapp"):
                await self._request(service, "POST", "/pause", **pause)
                paused.append(service)
            return await work()
        finally:
            for service in reversed(paused):
                # If this fails, the pause lifts itself after PAUSE_LIMIT_SECONDS.
                with contextlib.suppress(StackError):
                    await self._request(service, "POST", "/resume")

    # --- save -----------------------------------------------------------------------

    async def capture(self) -> dict[str, Any]:
        """The three services' parts at one moment (paused), without writing a file."""

        async def export() -> dict[str, Any]:
            parts = await asyncio.gather(*(self._request(s, "GET") for s in SERVICES))
            return {s: r.json() for s, r in zip(SERVICES, parts, strict=True)}

        services: dict[str, Any] = await self._paused(export)
        return {
            "format": FORMAT,
            "version": VERSION,
            "saved_at": datetime.now(UTC).isoformat(),
            "now": services["delivery"].get("now", ""),
            "summary": summarize(services),
            "services": services,
        }

    async def save(self, name: str, description: str = "") -> tuple[WorldInfo, Timing]:
        """Save the stack as world `name` (replacing one of that name)."""
        self.folder.path(name)  # a bad name is refused before anything is paused
        timing = Timing()
        started = time.perf_counter()
        world = await self.capture()
        world = {"name": name, "description": description, **world}
        timing.transfer = time.perf_counter() - started
        written = time.perf_counter()
        timing.size_bytes = self.folder.write(name, world)
        timing.file = time.perf_counter() - written
        timing.total = time.perf_counter() - started
        info = WorldInfo(
            name,
            self.folder.path(name),
            timing.size_bytes,
            saved_at=world["saved_at"],
            now=world["now"],
            description=description,
            **world["summary"],
        )
        return info, timing

    # --- load -----------------------------------------------------------------------

    async def check(self, world: dict[str, Any]) -> None:
        """Ask each service whether its part would load (it changes nothing); a
        WorldError naming every refusal otherwise."""
        results = await asyncio.gather(
            *(
                self._request(s, "PUT", "?dry_run=true", json=world["services"][s])
                for s in SERVICES
            ),
            return_exceptions=True,
        )
        refusals = []
        for result in results:
            if isinstance(result, StackError):
                refusals.append(str(result))
            elif isinstance(result, BaseException):
                raise result
        if refusals:
            raise WorldError("The world does not load, nothing changed: " + "; ".join(refusals))

    async def restore(self, world: dict[str, Any]) -> None:
        """Replace the stack's state with the world's (checked first)."""
        await self.check(world)

        async def replace() -> None:
            # One after the other: a failure names its service, and the rest wait.
            for service in SERVICES:
                await self._request(service, "PUT", json=world["services"][service])

        await self._paused(replace)

    async def clear(self) -> None:
        """Empty the stack: the current state with every table of every service emptied
        (the mock keeps its templates and subscribers, delivery its clock)."""
        world = await self.capture()
        for part in world["services"].values():
            for table in part.get("tables") or {}:
                part["tables"][table] = []
        await self.restore(world)

    async def load(self, name: str) -> tuple[WorldInfo, Timing]:
        """Load the saved world `name`."""
        timing = Timing()
        started = time.perf_counter()
        world = self.folder.read(name)
        timing.file = time.perf_counter() - started
        await self.restore(world)
        timing.total = time.perf_counter() - started
        timing.transfer = timing.total - timing.file
        path = self.folder.path(name)
        timing.size_bytes = path.stat().st_size
        info = WorldInfo(
            name,
            path,
            timing.size_bytes,
            saved_at=str(world.get("saved_at", "")),
            now=str(world.get("now", "")),
            description=str(world.get("description", "")),
            **summarize(world["services"]),
        )
        return info, timing


def summarize(services: dict[str, Any]) -> dict[str, int]:
    """Participants and messages, from delivery's part."""
    tables = (services.get("delivery") or {}).get("tables") or {}
    return {
        "participants": len(tables.get("participants") or []),
        "messages": len(tables.get("messages") or []),
    }
