"""Following mock_whatsapp's live event stream, resuming where it left off.

The mock numbers its events (`seq`) and replays those after `?after=<seq>`, so a listener
that loses the connection reconnects with the last seq it saw and misses nothing the mock
still holds. This follows the Server-Sent Events endpoint (`GET /_mock/events`, read with
httpx-sse), which the mock of this repository always has.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError, aconnect_sse

from promptpipe_simulator.core.clients import Refused, StackError, Unreachable

Event = dict[str, Any]

# SSE comments arrive every 15 s on a quiet stream; a read that waits this long means
# the connection is dead even if the socket has not said so.
READ_TIMEOUT_SECONDS = 45.0


def event_from_sse(sse: ServerSentEvent) -> Event | None:
    """The mock's event carried by one SSE message (the JSON of its data); None for
    anything unreadable, so that a bad frame never crashes a listener later."""
    if not sse.data:
        return None
    try:
        event = json.loads(sse.data)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
        return None
    if not isinstance(event.get("data"), dict):
        event["data"] = {}
    return event


class EventFollower:
    """Hands every event of the mock to `on_events`, in order, for as long as it runs.

    Trouble never ends `run` (the network, a mock that refuses or is not the mock):
    `on_trouble` hears of it once per outage, `on_recovered` when it is over, and it
    keeps reconnecting with a growing pause (up to `max_retry_seconds`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        on_events: Callable[[list[Event]], None],
        on_trouble: Callable[[StackError], None] = lambda exc: None,
        on_recovered: Callable[[], None] = lambda: None,
        retry_seconds: float = 0.5,
        max_retry_seconds: float = 5.0,
    ) -> None:
        self.http, self.base = http, base_url.rstrip("/")
        self.on_events, self.on_trouble, self.on_recovered = on_events, on_trouble, on_recovered
        self.retry_seconds, self.max_retry_seconds = retry_seconds, max_retry_seconds
        # 0: replay whatever the mock still holds, so a late start sees the recent past.
        self.last_seq = 0
        self.in_trouble = False

    async def run(self) -> None:
        """Follow until cancelled."""
        pause = self.retry_seconds
        while True:
            try:
                await self._follow_stream()
            except StackError as exc:
                self._trouble(exc)
            else:
                # The mock ended the stream (it drops a listener that fell behind): resume
                # soon, without hammering a server that keeps ending it.
                pause = self.retry_seconds
                await asyncio.sleep(self.retry_seconds)
                continue
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.max_retry_seconds)

    def _trouble(self, exc: StackError) -> None:
        if not self.in_trouble:
            self.in_trouble = True
            self.on_trouble(exc)

    def _deliver(self, events: list[Event]) -> None:
        if self.in_trouble:
            self.in_trouble = False
            self.on_recovered()
        if not events:
            return
        # Not max(): after a restart of the mock, seq starts again from 1, and the mock
        # replays everything to a listener whose seq it never reached.
        self.last_seq = int(events[-1]["seq"])
        self.on_events(events)

    async def _follow_stream(self) -> None:
        url = f"{self.base}/_mock/events"
        timeout = httpx.Timeout(5.0, read=READ_TIMEOUT_SECONDS)
        try:
            async with aconnect_sse(
                self.http, "GET", url, params={"after": self.last_seq}, timeout=timeout
            ) as source:
                status = source.response.status_code
                if status >= 400:
                    raise Refused(f"mock_whatsapp: HTTP {status}", status)
                if not source.response.headers.get("content-type", "").startswith(
                    "text/event-stream"
                ):
                    raise SSEError("not an event stream")  # before it counts as connected
                self._deliver([])  # connected: any outage is over
                async for sse in source.aiter_sse():
                    event = event_from_sse(sse)
                    if event is not None:
                        self._deliver([event])
        except SSEError as exc:  # answered, but not with an event stream
            raise Refused("mock_whatsapp's /_mock/events is not an event stream", 404) from exc
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"mock_whatsapp's event stream is not reachable ({type(exc).__name__})"
            ) from exc


class Typing:
    """Which phones show "typing…" from the business, from the mock's `typing` events.

    A "typing…" whose end was never heard of (a lost connection, say) goes after
    `stale_seconds`, a little longer than Meta's 25 s."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, stale_seconds: float = 30.0
    ) -> None:
        self.clock, self.stale_seconds = clock, stale_seconds
        self.since: dict[str, float] = {}  # phone -> when its "typing…" was last shown

    def apply(self, events: list[Event]) -> set[str]:
        """Take in events; returns the phones whose indicator may have changed."""
        changed: set[str] = set()
        for event in events:
            kind, data = event.get("kind"), event.get("data") or {}
            if kind == "typing":
                phone = str(data.get("phone"))
                if data.get("typing"):
                    self.since[phone] = self.clock()
                else:
                    self.since.pop(phone, None)
                changed.add(phone)
            elif kind == "reset":
                changed.update(self.since)
                self.since.clear()
        return changed

    def shows(self, phone: str) -> bool:
        since = self.since.get(phone)
        return since is not None and self.clock() - since < self.stale_seconds
