"""The mock's part of a saved world (the dev stack's snapshots): every phone and its chat
(messages with their statuses, so the 24-hour windows follow), the idempotent answers,
the webhook deliveries (pending ones go on after a load), media, templates and the clock.
Webhook subscribers are left out: they are the stack's configuration (delivery's URL).

Pausing stops the machinery that changes state on its own: webhook posts and retries
(every subscriber's lane), status timelines and "typing…" timers (the scheduler's jobs).
They are stopped, as a shutdown would, and resuming starts them again from the state, as
a restart does (`Business.restore`): a webhook cut mid-post is posted again with the same
body (Meta delivers at least once; delivery dedups by wamid), a status timeline goes on
from the last status kept.

Loading replaces everything in the journal, in one transaction (its writes are made
without an await, so they form one batch), and then in memory, paused; then resumes.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from mock_whatsapp.business import Business
from mock_whatsapp.chats import ChatMessage
from mock_whatsapp.graph_errors import ControlError
from mock_whatsapp.journal import Saved
from mock_whatsapp.media import Media
from mock_whatsapp.templates import MessageTemplate
from mock_whatsapp.webhooks import Attempt, Delivery

FORMAT = 1
TABLES = ("phones", "messages", "answers", "deliveries", "media")


def mismatch(message: str) -> ControlError:
    return ControlError(400, "world_mismatch", message)


class WorldKeeper:
    """Pause, export, import and resume the mock's whole state."""

    def __init__(self, business: Business) -> None:
        self.business = business
        self.paused = False
        self.lift: asyncio.TimerHandle | None = None

    # --- pause ----------------------------------------------------------------------

    async def pause(self, limit_seconds: float) -> None:
        """Stop webhooks, status timelines and typing timers (their state is kept);
        resume by itself after `limit_seconds` unless resumed before."""
        self.paused = True
        await self._stop_machinery()
        if self.lift is not None:
            self.lift.cancel()
        self.lift = asyncio.get_running_loop().call_later(limit_seconds, self.resume)

    async def _stop_machinery(self) -> None:
        b = self.business
        b.statuses.pause()
        b.typing_indicator.forget()
        await b.webhooks.pause()

    def resume(self) -> None:
        """Start again what a restart starts: pending webhooks, unfinished timelines."""
        if self.lift is not None:
            self.lift.cancel()
            self.lift = None
        if not self.paused:
            return
        self.paused = False
        b = self.business
        b.webhooks.resume()
        b.resume_timelines()

    # --- export ---------------------------------------------------------------------

    async def export(self) -> dict[str, Any]:
        """Everything, as the journal would keep it; pauses around the read if not
        paused already, so that nothing moves while it is copied."""
        was_paused = self.paused
        if not was_paused:
            await self.pause(60)
        else:
            await self._stop_machinery()  # anything a phone started since the pause
        try:
            return self._snapshot()
        finally:
            if not was_paused:
                self.resume()

    def _snapshot(self) -> dict[str, Any]:
        b = self.business
        phones, messages = [], []
        for phone in b.chats.phones.values():
            phones.append(
                {
                    "number": phone.number,
                    "name": phone.name,
                    "last_inbound_at": _iso(phone.last_inbound_at),
                    "state": phone.state.view(),
                }
            )
            messages += [_message(m) for m in phone.messages]
        return {
            "service": "mock_whatsapp",
            "format": FORMAT,
            "now": b.clock.now().isoformat(),
            "tables": {
                "phones": phones,
                "messages": messages,
                "answers": [{"key": k, "answer": a} for k, a in b.chats.idempotent_answers.items()],
                "deliveries": [_delivery(d) for d in b.webhooks.deliveries],
                "media": [
                    {**asdict(m), "content": base64.b64encode(m.content).decode()}
                    for m in b.media.items.values()
                ],
            },
            "templates": [t.data() for t in b.templates.by_id.values()],
        }

    # --- import ---------------------------------------------------------------------

    async def load(self, world: dict[str, Any], dry_run: bool = False) -> dict[str, int]:
        """Replace the whole state with the world's; rows per table. A world that does
        not fit raises a 400 ControlError (world_mismatch) before anything changed."""
        parsed = parse(world)
        counts = {name: len(world["tables"].get(name) or []) for name in TABLES}
        if dry_run:
            return counts
        was_paused = self.paused
        if not was_paused:
            await self.pause(60)
        else:
            await self._stop_machinery()
        try:
            await self._replace(parsed)
        finally:
            if not was_paused:
                self.resume()
        return counts

    async def _replace(self, w: Parsed) -> None:
        b = self.business
        journal = b.journal
        offset = w.now - datetime.now(UTC)
        registry = b.templates
        # Kept first, then applied, as every change of the mock is made: if the journal
        # cannot keep it, JournalUnavailable says so and the memory stays as it was.
        try:
            async with journal.acknowledged():
                journal.clear()  # chats, answers, deliveries, media; the clock is set below
                for row in w.saved.phones:
                    journal.save_phone(row["number"], row["name"], row["last_inbound_at"])
                    journal.save_phone_state(row["number"], row["state"] or {})
                for message in w.messages:
                    journal.save_message(message)
                for key, answer in w.saved.answers.items():
                    journal.save_answer(key, answer)
                for delivery in w.deliveries:
                    journal.save_delivery(delivery)
                for media in w.media:
                    journal.save_media(media)
                journal.save_clock(offset.total_seconds())
                for gone in set(registry.by_id) - {t.id for t in w.templates}:
                    journal.save_template({**registry.by_id[gone].data(), "deleted": True})
                for template in w.templates:
                    journal.save_template(template.data())
        except BaseException:
            # The journal's own memory of each phone's row went with the clear: the phones
            # still in memory are written again as they are.
            for phone in b.chats.phones.values():
                journal.save_phone(phone.number, phone.name, phone.last_inbound_at)
                journal.save_phone_state(phone.number, phone.state.view())
            raise
        b.typing_indicator.forget()
        b.chats.forget()
        b.media.clear()
        b.chats.restore(w.saved)
        b.media.restore([asdict(m) for m in w.media])
        # Subscribers are this stack's configuration (delivery's URL and port), not the
        # world's: a webhook saved for one is posted to where it lives here.
        urls = {s.id: s.url for s in b.webhooks.subscribers}
        for delivery in w.deliveries:
            delivery.url = urls.get(delivery.subscriber_id, delivery.url)
        b.webhooks.deliveries = w.deliveries
        ids = [d.id for d in w.deliveries]
        b.webhooks.next_id = max([b.webhooks.next_id, *(i + 1 for i in ids)])
        b.clock.offset = offset
        registry.by_id = {t.id: t for t in w.templates}


class Parsed:
    """A world part checked and turned into the mock's own objects."""

    def __init__(self) -> None:
        self.saved = Saved()
        self.messages: list[ChatMessage] = []
        self.deliveries: list[Delivery] = []
        self.media: list[Media] = []
        self.templates: list[MessageTemplate] = []
        self.now = datetime.now(UTC)


def parse(world: Any) -> Parsed:
    """Check the part's header and build every object, so that a bad row is refused
    before anything is replaced."""
    if not isinstance(world, dict) or world.get("service") != "mock_whatsapp":
        raise mismatch("This is not the mock's part of a world.")
    if world.get("format") != FORMAT:
        raise mismatch(
            f"The mock's part of this world has format {world.get('format')}; "
            f"this mock reads format {FORMAT}."
        )
    tables = world.get("tables")
    if not isinstance(tables, dict) or set(tables) - set(TABLES):
        raise mismatch(f"The mock's part of this world must have the tables {', '.join(TABLES)}.")
    p = Parsed()
    table = "now"
    try:
        p.now = _time(world["now"])
        table = "phones"
        for row in tables.get("phones") or []:
            last = row.get("last_inbound_at")
            p.saved.phones.append(
                {
                    "number": str(row["number"]),
                    "name": str(row.get("name", "")),
                    "last_inbound_at": _time(last) if last else None,
                    "state": dict(row.get("state") or {}),
                }
            )
        table = "messages"
        p.saved.messages = [dict(row) for row in tables.get("messages") or []]
        p.messages = [
            ChatMessage(**{**row, "timestamp": _time(row["timestamp"])}) for row in p.saved.messages
        ]
        table = "answers"
        p.saved.answers = {str(r["key"]): dict(r["answer"]) for r in tables.get("answers") or []}
        table = "deliveries"
        for row in tables.get("deliveries") or []:
            attempts = [Attempt(**a) for a in row.get("attempts") or []]
            payload = json.loads(row["body"])
            p.deliveries.append(Delivery(**{**row, "payload": payload, "attempts": attempts}))
        table = "media"
        p.media = [
            Media(**{**row, "content": base64.b64decode(row["content"])})
            for row in tables.get("media") or []
        ]
        table = "templates"
        p.templates = [MessageTemplate(**row) for row in world.get("templates") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise mismatch(f"The mock's {table} in this world do not load: {exc!r}") from None
    return p


def _message(message: ChatMessage) -> dict[str, Any]:
    # Shallow (vars, not asdict): the export is serialized at once, nothing is kept.
    return {**vars(message), "timestamp": message.timestamp.isoformat()}


def _delivery(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the journal keeps it: without its payload, which is its body parsed
    (half the world's size), nor what only this process knows (its deadline)."""
    data = delivery.record()
    data["attempts"] = [vars(a) for a in delivery.attempts]
    return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
