"""Where the mock keeps its state so that a restart loses nothing it acknowledged: chats,
idempotent answers, webhook deliveries still being retried, subscribers, media, the
accounts' message templates and the clock.

The mock works in memory; every change is also recorded here, and on start the state is
read back. `Journal` keeps nothing (the mock run alone, or in tests). `SqlJournal` hands
its writes to one background writer, which commits whatever has gathered in one
transaction (group commit), so the event loop never waits on the database and a thousand
changes a second cost a few commits, not a thousand.

Two kinds of writes, and the README says which is which:

- acknowledged: made inside `async with journal.acknowledged():`, which returns only once
  they are committed. A caller is told "done" (a 201 for a phone's message, a wamid for a
  Graph send) only after that, and the change is applied in memory only after that: if
  the database cannot take it, the caller gets an error and nothing happened.
- derived: everything else (statuses moving on, webhook attempts). They are committed in
  the next batch without anyone waiting (a batch of them alone waits LINGER_SECONDS for
  more); a crash can lose the last few milliseconds of them, which the mock derives again
  on start (a status timeline runs again from the last status kept, a webhook is posted
  again with the same body and id). Meta delivers at least once, so a repeat is what a
  receiver must handle anyway.

Events for the stream (events.observe) are published once their write is committed, so
a listener never hears of a change that was not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from mock_whatsapp.database import CLEARED, UNREACHABLE, Database, Saved, Write

log = logging.getLogger("mock_whatsapp")

__all__ = ["Journal", "JournalUnavailable", "Saved", "SqlJournal", "to_json"]


class JournalUnavailable(Exception):
    """The database did not take an acknowledged change; nothing of it was applied."""


def to_json(obj: Any) -> str:
    """A dataclass or plain data as JSON text; datetimes as ISO-8601 (orjson does both,
    several times faster than json and dataclasses.asdict)."""
    return orjson.dumps(obj).decode()


class Journal:
    """Keeps nothing: the mock forgets everything when it stops."""

    async def open(self) -> Saved:
        return Saved()

    @contextlib.asynccontextmanager
    async def acknowledged(self) -> AsyncIterator[None]:
        yield

    def after_commit(self, announce: Callable[[], Any]) -> None:
        """Run `announce` once the write just made is committed (here: at once)."""
        announce()

    async def flushed(self) -> None:
        """Wait until every write made so far is committed (tests use it)."""

    async def ping(self) -> None:
        """Raise unless writes can be committed now."""

    def save_phone(
        self,
        number: str,
        name: str,
        last_inbound_at: datetime | None,
        state: dict[str, bool] | None = None,
    ) -> None: ...

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None: ...

    def save_message(self, message: Any) -> None: ...

    def save_answer(self, key: str, answer: dict[str, Any]) -> None: ...

    def save_delivery(self, delivery: Any) -> None: ...

    def save_clock(self, offset_seconds: float) -> None: ...

    def save_subscribers(self, subscribers: list[dict[str, Any]]) -> None: ...

    def save_media(self, media: Any) -> None: ...

    def delete_media(self, media_id: str) -> None: ...

    def save_template(self, template: dict[str, Any]) -> None: ...

    def clear(self) -> None: ...

    async def close(self) -> None: ...


# The acknowledgement a write made in this task belongs to, if any (see `acknowledged`).
_ticket: ContextVar[asyncio.Future[None] | None] = ContextVar("journal_ticket", default=None)


@dataclass
class Pending:
    """A write not yet committed, with who waits for it and what to announce after."""

    write: Write
    tickets: list[asyncio.Future[None]] = field(default_factory=list)
    derived: bool = False  # some of it was written with nobody waiting


class SqlJournal(Journal):
    """Batches every write for one background writer (see the module's docstring)."""

    # Pause after a failed batch, growing while the database stays away.
    FIRST_PAUSE, MAX_PAUSE = 0.05, 2.0
    # How long a batch of derived writes alone waits for more before it is committed (an
    # acknowledged write ends the wait at once): a webhook's delivery row, written when
    # queued and again when answered a few milliseconds later, is then written once, and
    # the statuses of many messages share a commit. Under load this halved the mock's
    # statements per message; it is also what a crash may lose of derived writes.
    LINGER_SECONDS = 0.02

    def __init__(self, database: Database) -> None:
        self.database = database
        # Writes by key (table and row), in the order first written: a row written twice
        # before a commit is written once, in its first place, with its last content.
        self.pending: dict[tuple[str, str], Pending] = {}
        self.announcements: list[tuple[Pending, Callable[[], Any]]] = []
        self.last: Pending | None = None
        self.wakeup = asyncio.Event()
        self.urgent = asyncio.Event()  # an acknowledged write waits in `pending`
        self.idle = asyncio.Event()
        self.idle.set()
        self.writer: asyncio.Task[None] | None = None
        self.phone_state: dict[str, dict[str, bool]] = {}
        self.phones: dict[str, tuple[str, str | None]] = {}
        self.message_seq = 0
        self.failure: BaseException | None = None
        self.used: set[asyncio.Future[None]] = set()  # acknowledgements with a write

    async def open(self) -> Saved:
        saved = await self.database.open()
        self.message_seq = saved.last_message_seq
        for phone in saved.phones:
            last = phone["last_inbound_at"]
            self.phones[phone["number"]] = (phone["name"], last.isoformat() if last else None)
            self.phone_state[phone["number"]] = phone["state"] or {}
        self.writer = asyncio.create_task(self._write_forever())
        return saved

    # --- recording ------------------------------------------------------------------

    def _record(self, key: tuple[str, str], write: Write) -> None:
        ticket = _ticket.get()
        if ticket is not None and ticket.done():
            ticket = None  # a task started inside a block that has ended since
        if ticket is not None:
            self.used.add(ticket)
        entry = self.pending.get(key)
        if entry is None:
            entry = self.pending[key] = Pending(write)
        else:
            entry.write = write
        if ticket is None:
            entry.derived = True
        elif ticket not in entry.tickets:
            entry.tickets.append(ticket)
            self.urgent.set()
        self.last = entry
        self.idle.clear()
        self.wakeup.set()

    def after_commit(self, announce: Callable[[], Any]) -> None:
        if self.last is None:
            announce()
        else:
            self.announcements.append((self.last, announce))

    @contextlib.asynccontextmanager
    async def acknowledged(self) -> AsyncIterator[None]:
        """Writes made inside are committed before the block ends; if they cannot be,
        JournalUnavailable is raised and they are dropped (so the caller must apply its
        change in memory only after this block)."""
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        token = _ticket.set(ticket)
        try:
            yield
        finally:
            _ticket.reset(token)
        if ticket not in self.used:
            ticket.cancel()
            return  # nothing was written
        self.used.discard(ticket)
        try:
            await asyncio.shield(ticket)
        except Exception as exc:
            raise JournalUnavailable(repr(exc)) from exc

    def save_phone(
        self,
        number: str,
        name: str,
        last_inbound_at: datetime | None,
        state: dict[str, bool] | None = None,
    ) -> None:
        last = last_inbound_at.isoformat() if last_inbound_at else None
        self.phones[number] = (name, last)
        if state is not None:
            self.phone_state[number] = state
        self._phone(number)

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None:
        self.phone_state[number] = state
        self._phone(number)

    def _phone(self, number: str) -> None:
        # One row holds the name, the window and the state, so each write carries all three.
        name, last = self.phones.get(number, ("", None))
        state = json.dumps(self.phone_state.get(number) or None)
        self._record(("phones", number), Write("phones", (number, name, last, state)))

    def save_message(self, message: Any) -> None:
        # A seq per write; only a message's first (the insert) is kept by the upsert.
        self.message_seq += 1
        params = (message.id, self.message_seq, message.phone, to_json(message))
        self._record(("messages", message.id), Write("messages", params))

    def save_answer(self, key: str, answer: dict[str, Any]) -> None:
        self._record(("answers", key), Write("answers", (key, json.dumps(answer))))

    def save_delivery(self, delivery: Any) -> None:
        params = (delivery.id, to_json(delivery.record()))
        self._record(("deliveries", str(delivery.id)), Write("deliveries", params))

    def save_clock(self, offset_seconds: float) -> None:
        self._record(("clock", ""), Write("clock", (offset_seconds,)))

    def save_subscribers(self, subscribers: list[dict[str, Any]]) -> None:
        rows = [(s["id"], json.dumps(s)) for s in subscribers]
        self._record(("subscribers", ""), Write("subscribers", rows=rows))

    def save_media(self, media: Any) -> None:
        params = (media.id, media.business_id, media.mime_type, media.filename, media.content)
        self._record(("media", media.id), Write("media", params))

    def delete_media(self, media_id: str) -> None:
        self._record(("media", media_id), Write("media", (media_id,), delete=True))

    def save_template(self, template: dict[str, Any]) -> None:
        params = (template["id"], template["waba_id"], json.dumps(template))
        self._record(("templates", template["id"]), Write("templates", params))

    def clear(self) -> None:
        # Writes of the cleared tables still waiting are void: drop them, so that what is
        # written after the reset comes after it. Whoever waits for them is told "done".
        for key in [k for k in self.pending if k[0] in CLEARED]:
            entry = self.pending.pop(key)
            for ticket in entry.tickets:
                self._settle(ticket)
            self.announcements = [(p, a) for p, a in self.announcements if p is not entry]
            if self.last is entry:
                self.last = None
        self.phones.clear()
        self.phone_state.clear()
        self.pending.pop(("clear", ""), None)
        self._record(("clear", ""), Write("clear"))

    # --- the writer ------------------------------------------------------------------

    async def _write_forever(self) -> None:
        pause = self.FIRST_PAUSE
        while True:
            await self.wakeup.wait()
            if not self.urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.urgent.wait(), self.LINGER_SECONDS)
            self.wakeup.clear()
            self.urgent.clear()
            batch, self.pending = self.pending, {}
            announcements, self.announcements = self.announcements, []
            self.last = None
            if not batch:
                self._maybe_idle()
                continue
            try:
                await self.database.write([p.write for p in batch.values()])
            except asyncio.CancelledError:
                raise
            except UNREACHABLE as exc:
                self._failed(batch, announcements, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.MAX_PAUSE)
                continue
            except Exception as exc:
                # A row the database refuses (not the database being away): write the
                # rest one by one, so one bad row cannot hold up every other.
                await self._one_by_one(batch, announcements, exc)
                continue
            if self.failure is not None:
                log.info("journal writes again")
            self.failure, pause = None, self.FIRST_PAUSE
            self._committed(batch, announcements)

    def _committed(
        self,
        batch: dict[tuple[str, str], Pending],
        announcements: list[tuple[Pending, Callable[[], Any]]],
    ) -> None:
        for entry in batch.values():
            for ticket in entry.tickets:
                self._settle(ticket)
        for _, announce in announcements:
            announce()
        self._maybe_idle()

    def _failed(
        self,
        batch: dict[tuple[str, str], Pending],
        announcements: list[tuple[Pending, Callable[[], Any]]],
        exc: BaseException,
    ) -> None:
        """The database is away: whoever waits is told so (their change is dropped);
        derived writes wait for the next try, before any write made since."""
        if self.failure is None:
            log.warning("journal cannot write, will retry", extra={"error": repr(exc)})
        self.failure = exc
        kept: dict[tuple[str, str], Pending] = {}
        for key, entry in batch.items():
            for ticket in entry.tickets:
                if not ticket.done():
                    ticket.set_exception(exc)
            entry.tickets = []
            if entry.derived:
                kept[key] = entry
        earlier = [(p, a) for p, a in announcements if p.derived]
        for key, entry in self.pending.items():
            target = kept.get(key)
            if target is None:
                kept[key] = entry
                continue
            # Written again since: the newer content, in the older place.
            target.write = entry.write
            target.tickets += entry.tickets
            self.announcements = [(target if p is entry else p, a) for p, a in self.announcements]
        self.pending = kept
        self.announcements = earlier + self.announcements
        if self.pending:
            self.wakeup.set()
        self._maybe_idle()

    async def _one_by_one(
        self,
        batch: dict[tuple[str, str], Pending],
        announcements: list[tuple[Pending, Callable[[], Any]]],
        first: Exception,
    ) -> None:
        refused: list[Pending] = []
        keys = list(batch)
        for n, key in enumerate(keys):
            entry = batch[key]
            try:
                await self.database.write([entry.write])
            except UNREACHABLE as exc:
                # The database went away meanwhile: what is left waits for it as a batch.
                rest = {k: batch[k] for k in keys[n:]}
                done = [p for p, _ in announcements if p not in rest.values()]
                for p, announce in announcements:
                    if p in done and p not in refused:
                        announce()
                self._failed(rest, [(p, a) for p, a in announcements if p not in done], exc)
                return
            except Exception as exc:
                refused.append(entry)
                log.error("journal refused a write", extra={"key": key, "error": repr(exc)})
                for ticket in entry.tickets:
                    if not ticket.done():
                        ticket.set_exception(exc)
                continue
            for ticket in entry.tickets:
                self._settle(ticket)
        for entry, announce in announcements:
            if entry not in refused:
                announce()
        self._maybe_idle()

    @staticmethod
    def _settle(ticket: asyncio.Future[None]) -> None:
        if not ticket.done():
            ticket.set_result(None)

    def _maybe_idle(self) -> None:
        if not self.pending:
            self.idle.set()

    async def flushed(self) -> None:
        await self.idle.wait()

    async def ping(self) -> None:
        await self.database.ping()
        if self.failure is None:
            return
        if self.pending:  # writes the writer has yet to get through: not ready until then
            raise JournalUnavailable(f"the last write failed: {self.failure!r}")
        # Only acknowledged writes failed (their callers were told), and nothing waits: the
        # database answers again, so the journal can write again.
        self.failure = None
        log.info("journal writes again")

    async def close(self) -> None:
        """Commit what is pending (briefly: a database that is away loses the derived
        writes, which a restart derives again), then stop."""
        if self.writer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.flushed()
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer
        await self.database.close()


def open_journal(database_url: str) -> Journal:
    """The journal a database URL names: Postgres, SQLite (sqlite:///path, for the mock
    run alone), or none (empty: memory only)."""
    if not database_url:
        return Journal()
    from mock_whatsapp.database import open_database

    return SqlJournal(open_database(database_url))
