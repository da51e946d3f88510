"""What the fake Meta does, put together: the business numbers and their sends, the
phones and their chats, statuses, typing, media, webhooks, faults and limits. Each part
lives in its own module; this one composes them and orders each change so that nothing
is acknowledged before the journal has it."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from promptpipe_service.logs import mask_phone

from mock_whatsapp import sends
from mock_whatsapp.chats import ChatMessage, Chats
from mock_whatsapp.clock import Clock
from mock_whatsapp.faults import FaultBook, Limits, StatusQuirks
from mock_whatsapp.graph_errors import invalid_parameter
from mock_whatsapp.journal import Journal
from mock_whatsapp.media import MediaStore
from mock_whatsapp.phone_messages import phone_message
from mock_whatsapp.scheduler import Job, Scheduler
from mock_whatsapp.settings import BusinessNumber, Settings
from mock_whatsapp.statuses import StatusTimelines
from mock_whatsapp.template_registry import TemplateRegistry
from mock_whatsapp.throttle import Throttle
from mock_whatsapp.typing_indicator import TypingIndicator
from mock_whatsapp.webhooks import WebhookSender

log = logging.getLogger("mock_whatsapp")


class Business:
    """The business phone numbers' side of WhatsApp, and every phone they talk to."""

    def __init__(
        self,
        settings: Settings,
        webhooks: WebhookSender,
        journal: Journal | None = None,
        faults: FaultBook | None = None,
        rng: random.Random | None = None,
        publish: Callable[[str, dict[str, Any]], Any] | None = None,
        scheduler: Scheduler | None = None,
        templates: TemplateRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.numbers = settings.business_numbers()
        self.default_number = next(iter(self.numbers.values()))
        self.journal = journal or Journal()
        self.scheduler = scheduler or webhooks.scheduler
        self.chats = Chats(self.journal)
        self.clock = Clock()
        self.templates = templates or TemplateRegistry.configured(
            settings.templates_file or None,
            [n.waba_id for n in self.numbers.values()],
            self.journal,
        )
        self.webhooks = webhooks
        self.faults = faults or FaultBook()
        self.limits = self.default_limits()
        self.quirks = self.default_quirks()
        self.throughput = Throttle(settings.messages_per_second, settings.messages_per_second)
        self.pairs = Throttle(1 / settings.pair_interval_seconds, settings.pair_burst)
        self.media = MediaStore(settings.media_url_ttl_seconds, journal=self.journal)
        self.rng = rng or random.Random()
        self.publish = publish or (lambda kind, data: None)
        self.statuses = StatusTimelines(
            self.chats,
            self.clock,
            webhooks,
            self.scheduler,
            settings.status_delay_seconds,
            self.number,
            lambda: self.quirks,
            self.rng,
        )
        self.typing_indicator = TypingIndicator(
            self.chats, self.clock, self.scheduler, self.publish
        )
        # Sends under way per Idempotency-Key, so that a repeat waits for the first.
        self.sending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def default_limits(self) -> Limits:
        s = self.settings
        return Limits(s.enforce_window, s.pair_rate_limit, s.throughput_limit)

    def default_quirks(self) -> StatusQuirks:
        s = self.settings
        return StatusQuirks(s.status_skip_delivered, s.status_out_of_order, s.status_duplicate)

    def number(self, business_id: str) -> BusinessNumber:
        return self.numbers.get(business_id) or self.default_number

    @property
    def typing_timers(self) -> dict[str, Job]:
        return self.typing_indicator.timers

    def typing(self, number: str) -> bool:
        """Whether the phone shows "typing…" from the business right now."""
        return self.typing_indicator.showing(number)

    def window_open(self, number: str, business_id: str) -> bool:
        return sends.window_open(self, number, business_id)

    # --- the Graph API -----------------------------------------------------------------

    async def send(
        self, number: BusinessNumber, payload: dict[str, Any], idempotency_key: str | None
    ) -> dict[str, Any]:
        """Validate a /messages request as Meta would and deliver it to the phone; the
        answer (a wamid) only once the journal has the message."""
        if idempotency_key:
            if idempotency_key in self.chats.idempotent_answers:
                return self.chats.idempotent_answers[idempotency_key]
            if idempotency_key in self.sending:
                return await asyncio.shield(self.sending[idempotency_key])
        if payload.get("messaging_product") != "whatsapp":
            raise invalid_parameter('messaging_product must be "whatsapp"')
        if payload.get("status") == "read":
            return await self._mark_read(payload)
        message, answer = sends.accept(self, number, payload)
        if not idempotency_key:
            return await self._accept(message, answer, None)
        first = self.sending[idempotency_key] = asyncio.get_running_loop().create_future()
        try:
            result = await self._accept(message, answer, idempotency_key)
        except BaseException as exc:
            first.set_exception(exc)
            first.exception()  # retrieved: a repeat may never come to read it
            raise
        finally:
            del self.sending[idempotency_key]
        first.set_result(result)
        return result

    async def _accept(
        self, message: ChatMessage, answer: dict[str, Any], key: str | None
    ) -> dict[str, Any]:
        self.typing_indicator.hide(message.phone, "message")  # the message replaces it
        async with self.journal.acknowledged():
            self.journal.save_message(message)
            if key:
                self.journal.save_answer(key, answer)
        self.chats.add(message, record=False)
        if key:
            self.chats.remember_answer(key, answer, record=False)
        log.info(
            "message sent to phone",
            extra={"message_id": message.id, "phone": mask_phone(message.phone)},
        )
        self.statuses.start(message, sends.failure(self, message))
        return answer

    async def _mark_read(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Mark an inbound message read, optionally showing "typing…" to the phone."""
        phone, unread, typing = sends.read_receipt(self, payload)
        for message in unread:
            message.read_by_business = True
        try:
            async with self.journal.acknowledged():
                for message in unread:
                    self.journal.save_message(message)
        except BaseException:
            for message in unread:
                message.read_by_business = False
            raise
        if typing:
            self.typing_indicator.show(phone)
        return {"success": True}

    # --- the phones --------------------------------------------------------------------

    async def phone_sends(self, number: str, body: dict[str, Any]) -> ChatMessage:
        """A phone sends the business a message: its chat shows it and the webhook is on
        its way once the journal has both, not before."""
        phone = self.chats.phone(number)
        business = self.number(body.get("to") or "")
        message, payload, file = phone_message(
            number, phone.name, body, business, self.media, self.clock.now()
        )
        async with self.journal.acknowledged():
            self.journal.save_message(message)
            self.journal.save_phone(number, phone.name, message.timestamp)
            deliveries = self.webhooks.send(payload, start=False)
        if file is not None:
            self.media.keep(file)
        self.chats.add(message, record=False)
        self.chats.wrote(number, message.timestamp, record=False)
        self.webhooks.start(deliveries)
        log.info(
            "phone sent message", extra={"message_id": message.id, "phone": mask_phone(number)}
        )
        return message

    def phone_state_changed(self, number: str) -> None:
        """A phone came back online or started reading: carry its messages on."""
        self.statuses.phone_state_changed(number)

    def phone_reads(self, number: str) -> int:
        """The phone opens the chat: every delivered message is read now. Returns how many."""
        return self.statuses.phone_reads(number)

    # --- the whole ---------------------------------------------------------------------

    async def restore(self) -> None:
        """Take back what the journal kept, and finish what a restart interrupted: status
        timelines of messages not yet read, webhooks not yet delivered."""
        saved = await self.journal.open()
        self.chats.restore(saved)
        self.clock.offset = timedelta(seconds=saved.clock_offset_seconds)
        self.media.restore(saved.media)
        self.templates.restore(saved.templates)
        self.webhooks.restore_subscribers(saved.subscribers)
        self.webhooks.restore(saved.deliveries)
        self.resume_timelines()

    def resume_timelines(self) -> None:
        """Carry on the status timelines that were under way (after a restart, or a
        world's pause): from the last status kept to read."""
        for message in self.chats.by_id.values():
            if message.direction != "outbound":
                continue
            if message.status == "accepted":
                self.statuses.start(message, sends.failure(self, message))
            elif message.status in ("sent", "delivered") and message.type != "reaction":
                self.statuses.reach(message)

    async def set_clock(self, now: datetime) -> None:
        before = self.clock.offset
        self.clock.set(now)
        try:
            async with self.journal.acknowledged():
                self.journal.save_clock(self.clock.offset.total_seconds())
        except BaseException:
            self.clock.offset = before
            raise
        self.typing_indicator.clock_moved()

    async def reset(self) -> None:
        """Forget every chat, fault and media file; limits and status quirks go back to the
        configured ones."""
        async with self.journal.acknowledged():
            self.chats.journal.clear()
        self.typing_indicator.forget()
        self.chats.forget()
        self.faults.clear()
        self.limits = self.default_limits()
        self.quirks = self.default_quirks()
        self.throughput.clear()
        self.pairs.clear()
        self.media.clear()

    async def settled(self) -> None:
        """Wait until every status timeline, webhook and journal write under way is done
        (tests use it)."""
        while True:
            await self.scheduler.settled("status")
            await self.webhooks.drain()
            if self.statuses.settled() and self.webhooks.idle():
                return

    async def close(self) -> None:
        self.typing_indicator.forget()
