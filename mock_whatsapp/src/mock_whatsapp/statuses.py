"""Status timelines: an accepted message moves to sent, delivered and read (or failed) as
the phone lets it, each step a webhook; Meta's quirks (read without delivered, statuses
out of order, twice) on request. Every step waits in the mock's one scheduler."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mock_whatsapp import pricing
from mock_whatsapp.chats import ChatMessage, Chats, bsuid
from mock_whatsapp.clock import Clock
from mock_whatsapp.faults import StatusQuirks
from mock_whatsapp.payloads import envelope
from mock_whatsapp.scheduler import Scheduler
from mock_whatsapp.settings import BusinessNumber
from mock_whatsapp.webhooks import WebhookSender

STATUS_JOBS = "status"  # the scheduler's kind for timeline steps


class StatusTimelines:
    """Moves outbound messages through their statuses and posts a webhook for each."""

    def __init__(
        self,
        chats: Chats,
        clock: Clock,
        webhooks: WebhookSender,
        scheduler: Scheduler,
        delay: float,
        number: Callable[[str], BusinessNumber],
        quirks: Callable[[], StatusQuirks],
        rng: random.Random,
    ) -> None:
        self.chats, self.clock, self.webhooks = chats, clock, webhooks
        self.scheduler, self.delay, self.number = scheduler, delay, number
        self.quirks, self.rng = quirks, rng

    def _later(self, call: Callable[[], Any]) -> None:
        self.scheduler.later(self.delay, call, STATUS_JOBS)

    def _chance(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    def start(self, message: ChatMessage, error: dict[str, Any] | None) -> None:
        """An accepted message: `sent` (or `failed` with `error`) after the delay."""
        self._later(lambda: self._first_step(message, error))

    def _gone(self, message: ChatMessage) -> bool:
        # A reset forgot the message while a step of its timeline was waiting.
        return self.chats.by_id.get(message.id) is not message

    def _first_step(self, message: ChatMessage, error: dict[str, Any] | None) -> None:
        if self._gone(message):
            return
        if error is not None:
            message.errors = [error]
            self.advance(message, "failed")
            return
        self.advance(message, "sent")
        if message.type != "reaction":  # reactions only ever get "sent"
            self.reach(message)

    def reach(self, message: ChatMessage) -> None:
        """Carry a sent message on to delivered and read, as far as the phone lets it: an
        offline phone leaves it at sent, a phone that does not read at delivered."""
        if self._gone(message):
            return
        state = self.chats.phone(message.phone).state
        if message.status == "sent":
            if state.online:  # else `phone_state_changed` carries on from here
                self._later(lambda: self._deliver(message))
        elif message.status == "delivered" and state.auto_read:
            self._later(lambda: self.advance(message, "read"))

    def _deliver(self, message: ChatMessage) -> None:
        if self._gone(message):
            return
        state = self.chats.phone(message.phone).state
        if not state.online:
            return
        quirks = self.quirks()
        if state.auto_read and self._chance(quirks.skip_delivered):
            self.advance(message, "read")  # read at once: Meta sends no `delivered`
            return
        if state.auto_read and self._chance(quirks.out_of_order):
            self.chats.advance(message.id, "read")
            self.emit(message, "read")
            self.emit(message, "delivered")
            return
        self.advance(message, "delivered")
        if message.status == "delivered" and state.auto_read:
            self._later(lambda: self.advance(message, "read"))

    def advance(self, message: ChatMessage, status: str) -> None:
        if self.chats.advance(message.id, status):
            self.emit(message, status)

    def emit(self, message: ChatMessage, status: str) -> None:
        """Post the status webhook (twice, now and then, as Meta does on request)."""
        payload = self.status_webhook(message, status)
        self.webhooks.send(payload)
        if self._chance(self.quirks().duplicate):
            self.webhooks.send(payload)  # Meta delivers at least once, sometimes twice

    def status_webhook(self, m: ChatMessage, status: str) -> dict[str, Any]:
        """The webhook of one status of an outbound message, in Meta's shape."""
        business = self.number(m.business_id)
        user_id = bsuid(m.phone, business.waba_id)
        item: dict[str, Any] = {
            "id": m.id,
            "status": status,
            "timestamp": str(int(self.clock.now().timestamp())),
            "recipient_id": m.phone,
            "recipient_user_id": user_id,
        }
        if m.opaque is not None:
            item["biz_opaque_callback_data"] = m.opaque
        if status == "failed":
            item["errors"] = m.errors
        priced = pricing.status_fields(m.billing, status)
        if priced:
            item.update(priced)
            # Which statuses carried the price is part of the message: kept (in the same
            # batch as the status) so that a restart does not price it a second time.
            self.chats.journal.save_message(m)
        # Since the 2026 business-scoped user ids, statuses name the recipient in contacts.
        contacts = [{"wa_id": m.phone, "user_id": user_id}]
        return envelope(business, {"contacts": contacts, "statuses": [item]})

    def phone_state_changed(self, number: str) -> None:
        """A phone came back online or started reading: carry its messages on."""
        for message in self.chats.phone(number).messages:
            if (
                message.direction == "outbound"
                and message.status in ("sent", "delivered")
                and message.type != "reaction"
            ):
                self.reach(message)

    def phone_reads(self, number: str) -> int:
        """The phone opens the chat: every delivered message is read now. Returns how many."""
        read = 0
        for message in self.chats.phone(number).messages:
            if message.direction == "outbound" and message.status == "delivered":
                self.advance(message, "read")
                read += 1
        return read

    def pause(self) -> None:
        """Stop every timeline where it is (`Business.resume_timelines` carries them on)."""
        self.scheduler.drop(STATUS_JOBS)

    def settled(self) -> bool:
        return not self.scheduler.pending(STATUS_JOBS)
