"""What the fake Meta does: accept the business's sends, play the phones, emit webhooks."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from promptpipe_logs import mask_phone

from mock_whatsapp import message_types, pricing
from mock_whatsapp.chats import ChatMessage, Chats, bsuid, canonical_phone, new_wamid
from mock_whatsapp.clock import Clock
from mock_whatsapp.events import TYPING, iso
from mock_whatsapp.faults import FaultBook, Limits, StatusQuirks
from mock_whatsapp.graph_errors import GraphError, invalid_parameter, webhook_error
from mock_whatsapp.journal import Journal
from mock_whatsapp.media import MediaStore
from mock_whatsapp.settings import BusinessNumber, Settings
from mock_whatsapp.template_registry import TemplateRegistry
from mock_whatsapp.throttle import Throttle
from mock_whatsapp.webhooks import WebhookSender

log = logging.getLogger("mock_whatsapp")

WINDOW = timedelta(hours=24)
TYPING_FOR = timedelta(seconds=25)  # Meta hides "typing…" after 25 s without a reply
BSUID = re.compile(r"^[A-Z]{2}\.\d+$")
OPAQUE_MAX = 512  # biz_opaque_callback_data, as Meta limits it


# What a phone's files are, by kind (the mock invents their bytes).
INBOUND_MEDIA = {
    "image": "image/jpeg",
    "audio": "audio/ogg",
    "video": "video/mp4",
    "document": "application/pdf",
    "sticker": "image/webp",
}


def describe_inbound(kind: str, obj: Any) -> str:
    """What the chat shows for a phone's non-text message."""
    if kind in INBOUND_MEDIA:
        return str(obj.get("caption") or f"[{kind}]")
    if kind == "unsupported":
        return f"[unsupported {obj['type']}]"
    if kind == "button":
        return str(obj["text"])
    if kind == "location":
        name = f" {obj['name']}" if obj.get("name") else ""
        return f"[location {obj['latitude']},{obj['longitude']}{name}]"
    if kind == "reaction":
        return str(obj.get("emoji", ""))
    return "[contact " + ", ".join(c["name"]["formatted_name"] for c in obj) + "]"


UNKNOWN_MESSAGE_ERROR = webhook_error(
    131009, "The message to react to does not exist in this chat."
)
REENGAGEMENT_ERROR = webhook_error(
    131047,
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number.",
)
UNDELIVERABLE_ERROR = webhook_error(
    131026,
    "Unable to deliver message. Reasons can include: the recipient phone number is not a "
    "WhatsApp phone number; the recipient has not accepted the new Terms of Service; the "
    "recipient is using an old WhatsApp version.",
)
MEDIA_ERROR = webhook_error(131053, "Unable to upload the media used in the message.")
UNSUPPORTED_ERROR = webhook_error(131051, "Message type is currently not supported.")
THROUGHPUT_DETAILS = "Cloud API message throughput has been reached."
PAIR_DETAILS = (
    "Message failed to send because there were too many messages sent from this phone "
    "number to the same phone number in a short period of time."
)


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
        templates: TemplateRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.numbers = settings.business_numbers()
        self.default_number = next(iter(self.numbers.values()))
        self.journal = journal or Journal()
        self.chats = Chats(self.journal)
        self.clock = Clock()
        self.templates = templates or TemplateRegistry.configured(
            settings.templates_file or None, [n.waba_id for n in self.numbers.values()]
        )
        self.webhooks = webhooks
        self.faults = faults or FaultBook()
        self.limits = self.default_limits()
        self.quirks = self.default_quirks()
        self.throughput = Throttle(settings.messages_per_second, settings.messages_per_second)
        self.pairs = Throttle(1 / settings.pair_interval_seconds, settings.pair_burst)
        self.media = MediaStore(settings.media_url_ttl_seconds, journal=self.journal)
        self.rng = rng or random.Random()
        self.status_tasks: set[asyncio.Task[None]] = set()
        # Where "typing…" shows and hides are told (the event bus): they are not state
        # the journal keeps, since a restart ends them anyway.
        self.publish = publish or (lambda kind, data: None)
        # The timer that hides each phone's "typing…" after 25 s, apart from status_tasks
        # so that waiting for the statuses to settle never waits for it.
        self.typing_timers: dict[str, asyncio.Task[None]] = {}

    def default_limits(self) -> Limits:
        s = self.settings
        return Limits(s.enforce_window, s.pair_rate_limit, s.throughput_limit)

    def default_quirks(self) -> StatusQuirks:
        s = self.settings
        return StatusQuirks(s.status_skip_delivered, s.status_out_of_order, s.status_duplicate)

    def number(self, business_id: str) -> BusinessNumber:
        return self.numbers.get(business_id) or self.default_number

    # --- the Graph API -----------------------------------------------------------------

    def send(
        self, number: BusinessNumber, payload: dict[str, Any], idempotency_key: str | None
    ) -> dict[str, Any]:
        """Validate a /messages request as Meta would and deliver it to the phone."""
        if idempotency_key and idempotency_key in self.chats.idempotent_answers:
            return self.chats.idempotent_answers[idempotency_key]
        if payload.get("messaging_product") != "whatsapp":
            raise invalid_parameter('messaging_product must be "whatsapp"')
        if payload.get("status") == "read":
            return self._mark_read(payload)
        if payload.get("recipient_type", "individual") != "individual":
            raise invalid_parameter(
                'recipient_type must be "individual" (groups are not simulated)'
            )
        to_raw, to = self._recipient(number, payload)
        kind = payload.get("type", "text")
        check = message_types.CHECKS.get(kind)
        if kind == "template":
            text, details = self.templates.render_send(number.waba_id, payload)
        elif check is not None:
            text, details = check(payload, kind)
        else:
            raise invalid_parameter(f"Unsupported message type: {kind}")
        context_id = message_types.context(payload)
        opaque = payload.get("biz_opaque_callback_data")
        if opaque is not None and (not isinstance(opaque, str) or len(opaque) > OPAQUE_MAX):
            raise invalid_parameter(
                f"biz_opaque_callback_data must be a string of at most {OPAQUE_MAX}"
            )
        self._check_rates(number, to)
        self._hide_typing(to, "message")  # the message replaces "typing…"
        message = self.chats.add(
            ChatMessage(
                id=new_wamid(),
                phone=to,
                direction="outbound",
                type=kind,
                text=text,
                timestamp=self.clock.now(),
                status="accepted",
                details=details,
                context_id=context_id,
                business_id=number.phone_number_id,
                opaque=opaque,
                billing=pricing.bill(
                    self.chats.phone(to).messages,
                    number.phone_number_id,
                    pricing.category_of(kind, details),
                    self.window_open(to, number.phone_number_id),
                    self.clock.now(),
                ),
            )
        )
        answer = {
            "messaging_product": "whatsapp",
            # Meta names the user the way the send did: by phone (wa_id) or by user_id.
            "contacts": [
                {"input": to_raw, "user_id": to_raw}
                if "to" not in payload
                else {"input": to_raw, "wa_id": to}
            ],
            "messages": [{"id": message.id, "message_status": "accepted"}],
        }
        if idempotency_key:
            self.chats.remember_answer(idempotency_key, answer)
        log.info("message sent to phone", extra={"message_id": message.id, "phone": mask_phone(to)})
        self._start(self._status_timeline(message, self._failure(message)))
        return answer

    def _recipient(self, number: BusinessNumber, payload: dict[str, Any]) -> tuple[str, str]:
        """Who a send is for, as given and as a phone: `to` (a phone number), or else
        `recipient`, a business-scoped user id the mock handed out in a webhook."""
        to_raw = payload.get("to")
        if to_raw is None and isinstance(payload.get("recipient"), str):
            given = payload["recipient"]
            if not BSUID.match(given):
                raise invalid_parameter(f"recipient {given!r} is not a business-scoped user id")
            phone = next((p for p in self.chats.phones if bsuid(p, number.waba_id) == given), None)
            if phone is None:
                raise GraphError.of(131026, f"no WhatsApp user has the id {given}")
            return given, phone
        if not isinstance(to_raw, str) or not to_raw:
            raise invalid_parameter("to (or recipient) is required")
        to = canonical_phone(to_raw)
        if to is None:
            raise GraphError.of(131026, f"{to_raw} is not a valid WhatsApp phone number")
        return to_raw, to

    def _check_rates(self, number: BusinessNumber, to: str) -> None:
        """Meta's synchronous refusals: throughput per number, then the pair limit."""
        if self.limits.throughput and not self.throughput.take(number.phone_number_id):
            raise GraphError.of(130429, THROUGHPUT_DETAILS)
        if self.limits.pair_rate_limit and not self.pairs.take(f"{number.phone_number_id}:{to}"):
            raise GraphError.of(131056, PAIR_DETAILS)

    def _failure(self, message: ChatMessage) -> dict[str, Any] | None:
        """Why an accepted message will fail (Meta reports these in a `failed` status, not
        in the answer to the send), or None when it will reach the phone. The window is
        judged as of the message's own time, as Meta judges it at the send: a timeline
        carried on after a pause or a restart, once the clock has moved on (a jump that
        sent a prompt at 12:20 and landed at 19:50), keeps the verdict of 12:20."""
        state = self.chats.phone(message.phone).state
        if not state.on_whatsapp or state.blocked:
            return UNDELIVERABLE_ERROR
        if message.type != "template" and not self.window_open(
            message.phone, message.business_id, at=message.timestamp
        ):
            return REENGAGEMENT_ERROR
        if message.type == "reaction" and not self._reactable(message):
            return UNKNOWN_MESSAGE_ERROR
        media_id = (message.details or {}).get("id")  # None when sent by link
        unknown_media = media_id is not None and media_id not in self.media.items
        if message.type in message_types.MEDIA_TYPES and unknown_media:
            return MEDIA_ERROR  # an id never uploaded, or deleted since
        return None

    def restore(self) -> None:
        """Take back what the journal kept, and finish what a restart interrupted: status
        timelines of messages not yet read, webhooks not yet delivered."""
        saved = self.journal.load()
        self.chats.restore(saved)
        self.clock.offset = timedelta(seconds=saved.clock_offset_seconds)
        self.media.restore(saved.media)
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
                self._start(self._status_timeline(message, self._failure(message)))
            elif message.status in ("sent", "delivered") and message.type != "reaction":
                self._start(self._reach(message))

    def set_clock(self, now: datetime) -> None:
        self.clock.set(now)
        self.journal.save_clock(self.clock.offset.total_seconds())
        for number in list(self.chats.phones):
            self._typing_timed_out(number)  # a jump past the 25 s ends "typing…" at once

    def _reactable(self, reaction: ChatMessage) -> bool:
        """A reaction must point at a message of the same chat that is not a reaction."""
        target = self.chats.by_id.get(str((reaction.details or {}).get("message_id")))
        return target is not None and target.phone == reaction.phone and target.type != "reaction"

    def window_open(self, number: str, business_id: str, at: datetime | None = None) -> bool:
        """Whether the phone wrote to this business number within the 24 hours before
        `at` (now by default), so free-form messages from it may reach the phone. Each
        business number has its own window."""
        if not self.limits.window_24h:
            return True
        at = at or self.clock.now()
        wanted = self.number(business_id).phone_number_id
        last = next(
            (
                m.timestamp
                for m in reversed(self.chats.phone(number).messages)
                # Messages kept before several numbers existed have no id: the default one.
                if m.direction == "inbound"
                and m.timestamp <= at
                and self.number(m.business_id).phone_number_id == wanted
            ),
            None,
        )
        return last is not None and at - last < WINDOW

    def _mark_read(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Mark an inbound message read, optionally showing "typing…" to the phone."""
        typing = payload.get("typing_indicator")
        if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
            raise invalid_parameter('typing_indicator.type must be "text"')
        message = self.chats.by_id.get(str(payload.get("message_id")))
        if message is None or message.direction != "inbound":
            raise GraphError(
                400,
                131009,
                "Parameter value is not valid",
                "message_id is not a known inbound message",
            )
        phone = self.chats.phone(message.phone)
        # Meta marks the message and every earlier one of the chat read.
        for earlier in phone.messages[: phone.messages.index(message) + 1]:
            if earlier.direction == "inbound" and not earlier.read_by_business:
                earlier.read_by_business = True
                self.chats.journal.save_message(earlier)
        if typing is not None:
            self._show_typing(phone.number)
        return {"success": True}

    def typing(self, number: str) -> bool:
        """Whether the phone shows "typing…" from the business right now."""
        until = self.chats.phone(number).typing_until
        return until is not None and self.clock.now() < until

    def _show_typing(self, number: str) -> None:
        """Show "typing…" on the phone for 25 s of mock time (a repeat starts them again)."""
        until = self.clock.now() + TYPING_FOR
        self.chats.phone(number).typing_until = until
        self.publish(TYPING, {"phone": number, "typing": True, "until": iso(until)})
        self._stop_typing_timer(number)
        self.typing_timers[number] = asyncio.create_task(self._fade_typing(number, until))

    async def _fade_typing(self, number: str, until: datetime) -> None:
        # The mock's clock runs at real speed between jumps, and a jump is handled by
        # set_clock, so sleeping the remaining real seconds is enough.
        await asyncio.sleep(max(0.0, (until - self.clock.now()).total_seconds()))
        self.typing_timers.pop(number, None)
        self._typing_timed_out(number)

    def _stop_typing_timer(self, number: str) -> None:
        timer = self.typing_timers.pop(number, None)
        if timer is not None:
            timer.cancel()

    def _typing_timed_out(self, number: str) -> None:
        phone = self.chats.phones.get(number)  # None after a reset: nothing to hide
        if phone and phone.typing_until is not None and self.clock.now() >= phone.typing_until:
            self._hide_typing(number, "timeout")

    def _hide_typing(self, number: str, reason: str) -> None:
        """End "typing…" on the phone: the business's message came (`message`) or Meta's
        25 s ran out (`timeout`). Nothing is published when it was not showing."""
        phone = self.chats.phones.get(number)
        if phone is None or phone.typing_until is None:
            return
        phone.typing_until = None
        self._stop_typing_timer(number)
        self.publish(TYPING, {"phone": number, "typing": False, "until": None, "reason": reason})

    # --- statuses ----------------------------------------------------------------------

    def _start(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self.status_tasks.add(task)
        task.add_done_callback(self.status_tasks.discard)

    def _chance(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    async def _status_timeline(self, message: ChatMessage, error: dict[str, Any] | None) -> None:
        delay = self.settings.status_delay_seconds
        await asyncio.sleep(delay)
        if error is not None:
            message.errors = [error]
            self._advance(message, "failed")
            return
        self._advance(message, "sent")
        if message.type != "reaction":  # reactions only ever get "sent"
            await self._reach(message)

    async def _reach(self, message: ChatMessage) -> None:
        """Carry a sent message on to delivered and read, as far as the phone lets it: an
        offline phone leaves it at sent, a phone that does not read at delivered."""
        delay = self.settings.status_delay_seconds
        state = self.chats.phone(message.phone).state
        if message.status == "sent":
            if not state.online:
                return  # `phone_online` carries on from here
            await asyncio.sleep(delay)
            if not state.online:
                return
            if state.auto_read and self._chance(self.quirks.skip_delivered):
                self._advance(message, "read")  # read at once: Meta sends no `delivered`
                return
            if state.auto_read and self._chance(self.quirks.out_of_order):
                self.chats.advance(message.id, "read")
                self._emit(message, "read")
                self._emit(message, "delivered")
                return
            self._advance(message, "delivered")
        if message.status == "delivered" and state.auto_read:
            await asyncio.sleep(delay)
            self._advance(message, "read")

    def _advance(self, message: ChatMessage, status: str) -> None:
        if self.chats.advance(message.id, status):
            self._emit(message, status)

    def _emit(self, message: ChatMessage, status: str) -> None:
        payload = self._status_webhook(message, status)
        self.webhooks.send(payload)
        if self._chance(self.quirks.duplicate):
            self.webhooks.send(payload)  # Meta delivers at least once, sometimes twice

    def _status_webhook(self, m: ChatMessage, status: str) -> dict[str, Any]:
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
        item.update(pricing.status_fields(m.billing, status))
        # Since the 2026 business-scoped user ids, statuses name the recipient in contacts.
        contacts = [{"wa_id": m.phone, "user_id": user_id}]
        return self._envelope(business, {"contacts": contacts, "statuses": [item]})

    # --- the phones --------------------------------------------------------------------

    def phone_state_changed(self, number: str) -> None:
        """A phone came back online or started reading: carry its messages on."""
        for message in self.chats.phone(number).messages:
            if (
                message.direction == "outbound"
                and message.status in ("sent", "delivered")
                and message.type != "reaction"
            ):
                self._start(self._reach(message))

    def phone_reads(self, number: str) -> int:
        """The phone opens the chat: every delivered message is read now. Returns how many."""
        read = 0
        for message in self.chats.phone(number).messages:
            if message.direction == "outbound" and message.status == "delivered":
                self._advance(message, "read")
                read += 1
        return read

    def phone_sends(self, number: str, body: dict[str, Any]) -> ChatMessage:
        """A phone sends the business a message: log it in its chat, post the webhook."""
        phone = self.chats.phone(number)
        business = self.number(body.get("to") or "")
        if body.get("type", "text") == "interactive":
            # A tap on a reply button or on a list row, answering the message context_id.
            kind = "list_reply" if body.get("list_reply") else "button_reply"
            reply = body.get(kind) or {}
            item_body = {"type": kind, kind: reply}
            message = ChatMessage(
                new_wamid(),
                number,
                "inbound",
                "interactive",
                reply.get("title", ""),
                self.clock.now(),
                details=item_body,
                context_id=body.get("context_id"),
            )
            specific: dict[str, Any] = {"interactive": item_body}
        elif body.get("type", "text") == "text":
            message = ChatMessage(
                new_wamid(),
                number,
                "inbound",
                "text",
                body["text"],
                self.clock.now(),
                context_id=body.get("context_id"),
            )
            specific = {"text": {"body": body["text"]}}
        else:
            # image, location, reaction or contacts: Meta nests the object under its type.
            kind = body["type"]
            obj = body[kind]
            if kind in INBOUND_MEDIA:
                # The file itself is a stand-in; the bot can download it by its id.
                mime_type = INBOUND_MEDIA[kind]
                content = f"{kind} from {number}: {obj.get('caption', '')}".encode()
                media = self.media.add_received(business.phone_number_id, mime_type, content)
                fields = {k: v for k, v in obj.items() if v}  # no empty caption or filename
                obj = {"id": media.id, "mime_type": mime_type, "sha256": media.sha256, **fields}
            message = ChatMessage(
                new_wamid(),
                number,
                "inbound",
                kind,
                describe_inbound(kind, obj),
                self.clock.now(),
                details={kind: obj},
                context_id=body.get("context_id"),
            )
            specific = {kind: obj}
            if kind == "unsupported":
                specific["errors"] = [UNSUPPORTED_ERROR]
        message.business_id = business.phone_number_id
        self.chats.add(message)
        self.chats.wrote(number, message.timestamp)
        item: dict[str, Any] = {
            "from": number,
            "id": message.id,
            "timestamp": str(int(message.timestamp.timestamp())),
            "type": message.type,
            **specific,
        }
        if message.context_id:
            item["context"] = {"from": business.display_phone_number, "id": message.context_id}
        self.webhooks.send(
            self._envelope(
                business,
                {
                    "contacts": [
                        {
                            "profile": {"name": phone.name or number},
                            "wa_id": number,
                            "user_id": bsuid(number, business.waba_id),
                        }
                    ],
                    "messages": [item],
                },
            )
        )
        log.info(
            "phone sent message", extra={"message_id": message.id, "phone": mask_phone(number)}
        )
        return message

    def _envelope(self, business: BusinessNumber, value: dict[str, Any]) -> dict[str, Any]:
        """Meta's nesting: object, entry[].changes[].value with metadata."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": business.waba_id,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": business.display_phone_number,
                                    "phone_number_id": business.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }

    def reset(self) -> None:
        """Forget every chat, fault and media file; limits and status quirks go back to the
        configured ones."""
        for number in list(self.typing_timers):
            self._stop_typing_timer(number)
        self.chats.reset()
        self.faults.clear()
        self.limits = self.default_limits()
        self.quirks = self.default_quirks()
        self.throughput.clear()
        self.pairs.clear()
        self.media.clear()

    async def close(self) -> None:
        for number in list(self.typing_timers):
            self._stop_typing_timer(number)
        for task in list(self.status_tasks):
            task.cancel()
        await asyncio.gather(*list(self.status_tasks), return_exceptions=True)
