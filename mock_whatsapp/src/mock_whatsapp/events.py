"""The mock's live event stream: every change of its state, numbered, kept for replay and
pushed to whoever listens (the inspector page, the simulator, tests).

Events are not produced by the business logic: `observe` hooks the journal, through which
every change already passes (phones, messages and their statuses, webhook attempts, the
clock, reset), and the Graph API's error handler reports refusals. Other parts publish
their own with `bus.publish(kind, data)`: the business its typing indicator, the fault
book its faults.

An event is `{"seq", "time", "kind", "data"}`: `seq` grows by one per event for the life of
the process (a reset does not restart it, so a reconnecting listener never mistakes new
events for old ones), `time` is the mock's clock. The bus keeps the last `capacity` events
for replay; a listener resuming after a seq this process never reached (the mock restarted
and counts from 1 again) is given everything from the start. Publishing never waits: a
listener that falls `backlog` events behind is dropped (its stream ends with a notice)
rather than slowing the mock down; it reconnects with the last seq it saw and gets what
the replay buffer still holds.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from mock_whatsapp.journal import Journal, Saved

Event = dict[str, Any]

# The kinds the mock itself publishes; others (faults) are published by their own modules.
MESSAGE_INBOUND = "message.inbound"
MESSAGE_OUTBOUND = "message.outbound"
MESSAGE_STATUS = "message.status"
MESSAGE_READ_BY_BUSINESS = "message.read_by_business"
TYPING = "typing"  # published by the business (business.py): not a journal write
WEBHOOK_QUEUED = "webhook.queued"
WEBHOOK_ATTEMPT = "webhook.attempt"
WEBHOOK_GAVE_UP = "webhook.gave_up"
API_ERROR = "api.error"
CLOCK_CHANGED = "clock.changed"
PHONE_UPDATED = "phone.updated"
RESET = "reset"


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, as the chats' timestamps are written."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def kind_filter(kinds: str | None) -> frozenset[str] | None:
    """`?kinds=message,clock.changed` as a filter: None (every kind) when absent or empty.
    A name matches that kind and the kinds under it: `message` is every `message.*`."""
    names = frozenset(k.strip() for k in (kinds or "").split(",") if k.strip())
    return names or None


def wanted(event: Event, kinds: frozenset[str] | None) -> bool:
    if kinds is None:
        return True
    kind = event["kind"]
    return kind in kinds or kind.split(".", 1)[0] in kinds


class ListenerDropped(Exception):
    """The listener fell too far behind and was cut off; it should resume from its last seq."""


class Subscription:
    """One listener's queue of events not yet taken, filled by the bus."""

    def __init__(self, backlog: int, kinds: frozenset[str] | None = None) -> None:
        self.backlog = backlog
        self.kinds = kinds  # None: every kind
        self.pending: deque[Event] = deque()
        self.dropped = False
        self.loop = asyncio.get_running_loop()
        self.wakeup = asyncio.Event()

    def offer(self, event: Event) -> None:
        """Called by the bus, under its lock, possibly from another thread."""
        if not wanted(event, self.kinds):
            return  # neither queued nor counted against the backlog
        if len(self.pending) >= self.backlog:
            self.dropped = True
            self.pending.clear()  # nobody will read them: free the memory now
        else:
            self.pending.append(event)
        try:
            same_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self.wakeup.set()
        else:
            self.loop.call_soon_threadsafe(self.wakeup.set)

    def take_waiting(self) -> list[Event]:
        """Every event waiting now (none once dropped), without waiting for more."""
        if self.dropped:
            return []
        waiting = []
        while self.pending:  # popleft by popleft: an offer from another thread may come
            waiting.append(self.pending.popleft())
        return waiting

    async def next(self, timeout: float) -> Event | None:
        """The next event, or None if none came within `timeout` seconds."""
        while True:
            # Clear before looking, so an offer made after the look still wakes us.
            self.wakeup.clear()
            if self.dropped:
                raise ListenerDropped
            if self.pending:
                return self.pending.popleft()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout)
            except TimeoutError:
                return None


class EventBus:
    """Numbers events, keeps the latest for replay and fans them out to listeners."""

    def __init__(self, capacity: int = 5000, backlog: int = 1000) -> None:
        self.capacity = capacity
        self.backlog = backlog
        self.buffer: deque[Event] = deque(maxlen=capacity)
        self.listeners: set[Subscription] = set()
        self.last_seq = 0
        # The mock's clock; main points it at the business's clock once that exists.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        # Journal writes happen on the event loop today, but nothing forbids a worker thread.
        self.lock = threading.Lock()

    def publish(self, kind: str, data: dict[str, Any] | None = None) -> Event:
        """Record an event and hand it to every listener; never blocks."""
        with self.lock:
            self.last_seq += 1
            event: Event = {
                "seq": self.last_seq,
                "time": iso(self.now()),
                "kind": kind,
                "data": data or {},
            }
            self.buffer.append(event)
            for listener in list(self.listeners):
                listener.offer(event)
                if listener.dropped:
                    self.listeners.discard(listener)
        return event

    def _start(self, after: int) -> int:
        # A seq beyond the newest can only come from before a restart of the mock (seq
        # starts again at 1): such a listener has seen none of this process's events.
        return 0 if after > self.last_seq else after

    def recent(
        self, after: int = 0, limit: int | None = None, kinds: frozenset[str] | None = None
    ) -> list[Event]:
        """Buffered events with seq > after (of the `kinds` only, if given), oldest first."""
        with self.lock:
            after = self._start(after)
            found = [e for e in self.buffer if e["seq"] > after and wanted(e, kinds)]
        return found[:limit] if limit is not None else found

    @contextmanager
    def subscribe(
        self, after: int | None = None, kinds: frozenset[str] | None = None
    ) -> Iterator[tuple[list[Event], Subscription]]:
        """The buffered events after `after` (none if None) and a subscription to every
        later one, taken together so that nothing falls in between or comes twice; of the
        `kinds` only, if given (see kind_filter)."""
        subscription = Subscription(self.backlog, kinds)
        with self.lock:
            start = None if after is None else self._start(after)
            replay = (
                []
                if start is None
                else [e for e in self.buffer if e["seq"] > start and wanted(e, kinds)]
            )
            self.listeners.add(subscription)
        try:
            yield replay, subscription
        finally:
            with self.lock:
                self.listeners.discard(subscription)


class JournalEvents:
    """Turns journal writes into events. The journal is told "this object changed", so
    this remembers what it last saw of each message and delivery to say what changed.
    Each event is made at once (from the object as it is now) and published through
    `publish`, which `observe` defers until the write is committed."""

    def __init__(self, bus: EventBus, publish: Callable[[str, dict[str, Any]], Any]) -> None:
        self.bus = bus
        self.publish = publish
        self.statuses: dict[str, str | None] = {}  # wamid -> last status seen
        self.read_by_business: set[str] = set()  # inbound wamids the business marked read
        self.deliveries: dict[int, tuple[int, str]] = {}  # id -> (attempts seen, state)

    def load(self, saved: Saved) -> None:
        # What a restart brings back is not news: only later changes are.
        for message in saved.messages:
            self.statuses[message["id"]] = message.get("status")
            if message.get("read_by_business"):
                self.read_by_business.add(message["id"])
        for delivery in saved.deliveries:
            self.deliveries[delivery["id"]] = (len(delivery["attempts"]), delivery["state"])

    def save_phone(
        self, number: str, name: str, last_inbound_at: datetime | None = None, **more: Any
    ) -> None:
        self.publish(
            PHONE_UPDATED,
            {
                "phone": number,
                "name": name,
                "last_inbound_at": iso(last_inbound_at) if last_inbound_at else None,
                **more,
            },
        )

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None:
        self.publish(PHONE_UPDATED, {"phone": number, **state})

    def save_message(self, message: Any) -> None:
        if message.id not in self.statuses:
            self.statuses[message.id] = message.status
            kind = MESSAGE_INBOUND if message.direction == "inbound" else MESSAGE_OUTBOUND
            self.publish(kind, {"phone": message.phone, **message.view()})
            return
        if getattr(message, "read_by_business", False) and message.id not in self.read_by_business:
            # The business read the phone's message: blue ticks on the phone's side.
            self.read_by_business.add(message.id)
            self.publish(MESSAGE_READ_BY_BUSINESS, {"phone": message.phone, "id": message.id})
            return
        if message.status == self.statuses[message.id]:
            return
        self.statuses[message.id] = message.status
        data: dict[str, Any] = {"id": message.id, "phone": message.phone, "status": message.status}
        if message.errors:
            data["errors"] = message.errors
        self.publish(MESSAGE_STATUS, data)

    def save_delivery(self, delivery: Any) -> None:
        seen, state = self.deliveries.get(delivery.id, (-1, "pending"))
        if seen < 0:
            seen = 0
            self.publish(WEBHOOK_QUEUED, self._delivery(delivery))
        for attempt in delivery.attempts[seen:]:
            data = self._delivery(delivery)
            # Every field of the attempt (status_code, error, latency_ms, at, and whatever is
            # added later), with its number under the name the stream uses.
            details = dict(vars(attempt))
            data["attempt"] = details.pop("number")
            data.update(details)
            self.publish(WEBHOOK_ATTEMPT, data)
        if delivery.state == "gave_up" and state != "gave_up":
            last = delivery.attempts[-1] if delivery.attempts else None
            self.publish(
                WEBHOOK_GAVE_UP,
                {
                    "delivery_id": delivery.id,
                    "url": delivery.url,
                    "attempts": len(delivery.attempts),
                    "status_code": getattr(last, "status_code", None),
                    "error": getattr(last, "error", None),
                },
            )
        self.deliveries[delivery.id] = (len(delivery.attempts), delivery.state)

    @staticmethod
    def _delivery(delivery: Any) -> dict[str, Any]:
        return {
            "delivery_id": delivery.id,
            "url": delivery.url,
            "state": delivery.state,
            "signature": delivery.signature,
            "payload": delivery.payload,
        }

    def save_clock(self, offset_seconds: float) -> None:
        self.publish(CLOCK_CHANGED, {"now": iso(self.bus.now()), "offset_seconds": offset_seconds})

    def clear(self) -> None:
        self.statuses.clear()
        self.read_by_business.clear()
        self.deliveries.clear()
        self.publish(RESET, {})


OBSERVED = (
    "save_phone",
    "save_phone_state",
    "save_message",
    "save_delivery",
    "save_clock",
    "clear",
)


def observe(journal: Journal, bus: EventBus) -> Journal:
    """Make every write to `journal` also publish its event on `bus`; returns `journal`.

    The hooks are put on the instance rather than in a subclass so that any journal
    (memory, Postgres, or one added later) is observed, and methods added to journals
    later keep working untouched. The event is published once the journal has committed
    the write, so a listener never hears of a change the journal failed to keep."""

    def publish(kind: str, data: dict[str, Any]) -> None:
        journal.after_commit(lambda: bus.publish(kind, data))

    events = JournalEvents(bus, publish)

    def chain(write: Callable[..., Any], hook: Callable[..., Any]) -> Callable[..., Any]:
        def both(*args: Any, **kwargs: Any) -> Any:
            result = write(*args, **kwargs)
            hook(*args, **kwargs)
            return result

        return both

    for name in OBSERVED:
        setattr(journal, name, chain(getattr(journal, name), getattr(events, name)))

    open_ = journal.open

    async def open_and_remember() -> Saved:
        saved = await open_()
        events.load(saved)
        return saved

    setattr(journal, "open", open_and_remember)  # noqa: B010 (mypy forbids assigning a method)
    return journal


def report_refusal(app_state: Any, method: str, path: str, status: int, body: Any) -> None:
    """Publish an "api.error" for a Graph API request refused with Meta's error JSON."""
    bus: EventBus | None = getattr(app_state, "bus", None)
    if bus is None:
        return
    error = dict(body.get("error", {})) if isinstance(body, dict) else {}
    error_data = error.pop("error_data", None) or {}
    data: dict[str, Any] = {"endpoint": f"{method} {path}", "status": status, **error}
    if "details" in error_data:
        data["details"] = error_data["details"]
    bus.publish(API_ERROR, data)
