"""What the fake Meta does: accept the business's sends, play the phones, emit webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from datetime import datetime, timedelta
from typing import Any

from mock_whatsapp import message_types, templates
from mock_whatsapp.chats import ChatMessage, Chats, canonical_phone, new_wamid
from mock_whatsapp.clock import Clock
from mock_whatsapp.graph_errors import GraphError, invalid_parameter
from mock_whatsapp.journal import Journal
from mock_whatsapp.logs import mask_phone
from mock_whatsapp.settings import Settings
from mock_whatsapp.webhooks import WebhookSender

log = logging.getLogger("mock_whatsapp")

WINDOW = timedelta(hours=24)


def new_media_id() -> str:
    return str(int.from_bytes(os.urandom(7), "big"))


def describe_inbound(kind: str, obj: Any) -> str:
    """What the chat shows for a phone's non-text message."""
    if kind == "image":
        return str(obj.get("caption") or "[image]")
    if kind == "location":
        name = f" {obj['name']}" if obj.get("name") else ""
        return f"[location {obj['latitude']},{obj['longitude']}{name}]"
    if kind == "reaction":
        return str(obj.get("emoji", ""))
    return "[contact " + ", ".join(c["name"]["formatted_name"] for c in obj) + "]"


UNKNOWN_MESSAGE_ERROR = {
    "code": 131009,
    "title": "Parameter value is not valid",
    "message": "Parameter value is not valid",
    "error_data": {"details": "The message to react to does not exist in this chat."},
}
REENGAGEMENT_ERROR = {
    "code": 131047,
    "title": "Re-engagement message",
    "message": "Re-engagement message",
    "error_data": {
        "details": "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number."
    },
    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
}


class Business:
    """The business phone number's side of WhatsApp, and every phone it talks to."""

    def __init__(
        self, settings: Settings, webhooks: WebhookSender, journal: Journal | None = None
    ) -> None:
        self.settings = settings
        self.journal = journal or Journal()
        self.chats = Chats(self.journal)
        self.clock = Clock()
        self.templates = templates.load(settings.templates_file or None)
        self.webhooks = webhooks
        self.status_tasks: set[asyncio.Task[None]] = set()

    # --- the Graph API -----------------------------------------------------------------

    def send(self, payload: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        """Validate a /messages request as Meta would and deliver it to the phone."""
        if idempotency_key and idempotency_key in self.chats.idempotent_answers:
            return self.chats.idempotent_answers[idempotency_key]
        if payload.get("messaging_product") != "whatsapp":
            raise invalid_parameter('messaging_product must be "whatsapp"')
        if payload.get("status") == "read":
            return self._mark_read(payload)
        to_raw = payload.get("to")
        if not isinstance(to_raw, str) or not to_raw:
            raise invalid_parameter("to is required")
        to = canonical_phone(to_raw)
        if to is None:
            raise GraphError(
                400,
                131026,
                "Message undeliverable",
                f"{to_raw} is not a valid WhatsApp phone number",
            )
        kind = payload.get("type", "text")
        details: dict[str, Any] | None
        if kind == "text":
            text, details = message_types.text(payload)
        elif kind == "interactive":
            text, details = message_types.interactive(payload)
        elif kind == "template":
            text, details = templates.render_send(self.templates, payload)
        elif kind in message_types.MEDIA_TYPES:
            text, details = message_types.media(payload, kind)
        elif kind == "reaction":
            text, details = message_types.reaction(payload)
        else:
            raise invalid_parameter(f"Unsupported message type: {kind}")
        context = payload.get("context") or {}
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
                context_id=context.get("message_id"),
            )
        )
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to_raw, "wa_id": to}],
            "messages": [{"id": message.id}],
        }
        if idempotency_key:
            self.chats.remember_answer(idempotency_key, answer)
        log.info("message sent to phone", extra={"message_id": message.id, "phone": mask_phone(to)})
        window_closed = kind != "template" and not self.window_open(to)
        self._start_status_timeline(message, payload.get("biz_opaque_callback_data"), window_closed)
        return answer

    def restore(self) -> None:
        """Take back what the journal kept, and finish what a restart interrupted: status
        timelines of messages not yet read, webhooks not yet delivered."""
        saved = self.journal.load()
        self.chats.restore(saved)
        self.clock.offset = timedelta(seconds=saved.clock_offset_seconds)
        self.webhooks.restore(saved.deliveries)
        for message in self.chats.by_id.values():
            if message.direction == "outbound" and message.status in (
                "accepted",
                "sent",
                "delivered",
            ):
                closed = (
                    message.status == "accepted"
                    and message.type != "template"
                    and not self.window_open(message.phone)
                )
                self._start_status_timeline(message, None, closed)

    def set_clock(self, now: datetime) -> None:
        self.clock.set(now)
        self.journal.save_clock(self.clock.offset.total_seconds())

    def _reactable(self, reaction: ChatMessage) -> bool:
        """A reaction must point at a message of the same chat that is not a reaction."""
        target = self.chats.by_id.get(str((reaction.details or {}).get("message_id")))
        return target is not None and target.phone == reaction.phone and target.type != "reaction"

    def window_open(self, number: str) -> bool:
        """Whether the phone wrote within 24 hours, so free-form messages may reach it."""
        if not self.settings.enforce_window:
            return True
        last = self.chats.phone(number).last_inbound_at
        return last is not None and self.clock.now() - last < WINDOW

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
        return {"success": True}

    # --- statuses ----------------------------------------------------------------------

    def _start_status_timeline(
        self, message: ChatMessage, opaque: Any, window_closed: bool
    ) -> None:
        task = asyncio.create_task(self._status_timeline(message, opaque, window_closed))
        self.status_tasks.add(task)
        task.add_done_callback(self.status_tasks.discard)

    async def _status_timeline(
        self, message: ChatMessage, opaque: Any, window_closed: bool
    ) -> None:
        error = None
        if window_closed:
            error = REENGAGEMENT_ERROR  # Meta accepts the send, then reports it failed
        elif message.type == "reaction" and not self._reactable(message):
            error = UNKNOWN_MESSAGE_ERROR
        if error is not None:
            await asyncio.sleep(self.settings.status_delay_seconds)
            message.errors = [error]
            if self.chats.advance(message.id, "failed"):
                self.webhooks.send(self._status_webhook(message, "failed", opaque))
            return
        # Reactions only ever get "sent"; everything else is delivered and read.
        timeline = ("sent",) if message.type == "reaction" else ("sent", "delivered", "read")
        for status in timeline:
            await asyncio.sleep(self.settings.status_delay_seconds)
            if self.chats.advance(message.id, status):
                self.webhooks.send(self._status_webhook(message, status, opaque))

    def _status_webhook(self, m: ChatMessage, status: str, opaque: Any) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": m.id,
            "status": status,
            "timestamp": str(int(self.clock.now().timestamp())),
            "recipient_id": m.phone,
        }
        if opaque is not None:
            item["biz_opaque_callback_data"] = opaque
        if status == "failed":
            item["errors"] = m.errors
        if status == "sent":
            item["pricing"] = {
                "billable": True,
                "pricing_model": "PMP",
                "category": "service",
                "type": "regular",
            }
        return self._envelope({"statuses": [item]})

    # --- the phones --------------------------------------------------------------------

    def phone_sends(self, number: str, body: dict[str, Any]) -> ChatMessage:
        """A phone sends the business a message: log it in its chat, post the webhook."""
        phone = self.chats.phone(number)
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
                new_wamid(), number, "inbound", "text", body["text"], self.clock.now()
            )
            specific = {"text": {"body": body["text"]}}
        else:
            # image, location, reaction or contacts: Meta nests the object under its type.
            kind = body["type"]
            obj = body[kind]
            if kind == "image":
                obj = {
                    "id": new_media_id(),
                    "mime_type": "image/jpeg",
                    "sha256": hashlib.sha256(obj.get("caption", "").encode()).hexdigest(),
                    **obj,
                }
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
            item["context"] = {"from": self.settings.display_phone_number, "id": message.context_id}
        self.webhooks.send(
            self._envelope(
                {
                    "contacts": [{"profile": {"name": phone.name or number}, "wa_id": number}],
                    "messages": [item],
                }
            )
        )
        log.info(
            "phone sent message", extra={"message_id": message.id, "phone": mask_phone(number)}
        )
        return message

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        """Meta's nesting: object, entry[].changes[].value with metadata."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.settings.waba_id,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.settings.display_phone_number,
                                    "phone_number_id": self.settings.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }

    async def close(self) -> None:
        for task in list(self.status_tasks):
            task.cancel()
        await asyncio.gather(*list(self.status_tasks), return_exceptions=True)
