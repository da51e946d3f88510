"""One timer for everything the mock does later: the steps of every status timeline, the
end of each "typing…", each webhook retry. A heap of due times served by a single task,
rather than a task or a timer per status: tens of thousands of messages in flight cost a
heap entry each, and one wake-up serves every step that is due."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("mock_whatsapp")


@dataclass(slots=True)
class Job:
    """A call due at `due` (monotonic seconds); `kind` groups jobs for `pending`."""

    due: float
    call: Callable[[], Any]
    kind: str = ""
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Runs calls at their time, in due order, from one task. A call may schedule more."""

    def __init__(self) -> None:
        # (due, order, job): tuples compare in C, a dataclass's __lt__ in Python (a
        # twentieth of the mock's CPU when tens of thousands of statuses were waiting).
        self.heap: list[tuple[float, int, Job]] = []
        self.counter = itertools.count()
        self.counts: dict[str, int] = {}
        self.wakeup = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Its own empty context: nothing a request set (the journal's acknowledgement)
        # leaks into the calls it runs.
        self.task = asyncio.create_task(self._run(), context=contextvars.Context())

    def later(self, delay: float, call: Callable[[], Any], kind: str = "") -> Job:
        """Run `call` in `delay` seconds."""
        job = Job(time.monotonic() + max(0.0, delay), call, kind)
        heapq.heappush(self.heap, (job.due, next(self.counter), job))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.idle.clear()
        if self.heap[0][2] is job:
            self.wakeup.set()  # sooner than what the loop sleeps for
        return job

    def drop(self, kind: str) -> None:
        """Forget every job of `kind` (a world's pause stops them; resuming derives them
        again from the state)."""
        self.heap = [entry for entry in self.heap if entry[2].kind != kind]
        heapq.heapify(self.heap)
        self.counts[kind] = 0
        if not self.heap:
            self.idle.set()

    def pending(self, kind: str) -> int:
        """Jobs of `kind` not yet run (cancelled ones count until their time)."""
        return self.counts.get(kind, 0)

    async def settled(self, *kinds: str) -> None:
        """Wait until no job of these kinds is left (tests use it)."""
        while any(self.pending(k) for k in kinds):
            await asyncio.sleep(0.005)

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            while self.heap and self.heap[0][0] <= now:
                job = heapq.heappop(self.heap)[2]
                self.counts[job.kind] -= 1
                if job.cancelled:
                    continue
                try:
                    job.call()
                except Exception:
                    log.exception("scheduled call failed", extra={"kind": job.kind})
            if not self.heap:
                self.idle.set()
            self.wakeup.clear()
            timeout = self.heap[0][0] - time.monotonic() if self.heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout)

    async def close(self) -> None:
        self.heap.clear()
        self.counts.clear()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
