"""What a phone sends the business: the message as its chat shows it, and the webhook
Meta posts for it."""

from __future__ import annotations

from typing import Any

from mock_whatsapp.chats import ChatMessage, bsuid, new_wamid
from mock_whatsapp.graph_errors import webhook_error
from mock_whatsapp.media import Media, MediaStore
from mock_whatsapp.payloads import envelope
from mock_whatsapp.settings import BusinessNumber

# What a phone's files are, by kind (the mock invents their bytes).
INBOUND_MEDIA = {
    "image": "image/jpeg",
    "audio": "audio/ogg",
    "video": "video/mp4",
    "document": "application/pdf",
    "sticker": "image/webp",
}
UNSUPPORTED_ERROR = webhook_error(131051, "Message type is currently not supported.")


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


def phone_message(
    number: str,
    name: str,
    body: dict[str, Any],
    business: BusinessNumber,
    media: MediaStore,
    now: Any,
) -> tuple[ChatMessage, dict[str, Any], Media | None]:
    """The phone's message, its webhook payload, and the file it carries (made, not yet
    kept: the caller keeps all three once the journal has them)."""
    file: Media | None = None
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
            now,
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
            now,
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
            file = media.received(business.phone_number_id, mime_type, content)
            fields = {k: v for k, v in obj.items() if v}  # no empty caption or filename
            obj = {"id": file.id, "mime_type": mime_type, "sha256": file.sha256, **fields}
        message = ChatMessage(
            new_wamid(),
            number,
            "inbound",
            kind,
            describe_inbound(kind, obj),
            now,
            details={kind: obj},
            context_id=body.get("context_id"),
        )
        specific = {kind: obj}
        if kind == "unsupported":
            specific["errors"] = [UNSUPPORTED_ERROR]
    message.business_id = business.phone_number_id
    item: dict[str, Any] = {
        "from": number,
        "id": message.id,
        "timestamp": str(int(message.timestamp.timestamp())),
        "type": message.type,
        **specific,
    }
    if message.context_id:
        item["context"] = {"from": business.display_phone_number, "id": message.context_id}
    contact = {
        "profile": {"name": name or number},
        "wa_id": number,
        "user_id": bsuid(number, business.waba_id),
    }
    payload = envelope(business, {"contacts": [contact], "messages": [item]})
    return message, payload, file
