"""The business's sends, checked as strictly as Meta's Graph API: who a message is for,
the synchronous refusals (rates), the asynchronous ones (a `failed` status later), the
24-hour window, and read receipts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mock_whatsapp import message_types, pricing
from mock_whatsapp.chats import ChatMessage, bsuid, canonical_phone, new_wamid
from mock_whatsapp.graph_errors import GraphError, invalid_parameter, webhook_error
from mock_whatsapp.settings import BusinessNumber

if TYPE_CHECKING:
    from mock_whatsapp.business import Business

WINDOW = timedelta(hours=24)
BSUID = re.compile(r"^[A-Z]{2}\.\d+$")
OPAQUE_MAX = 512  # biz_opaque_callback_data, as Meta limits it

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
THROUGHPUT_DETAILS = "Cloud API message throughput has been reached."
PAIR_DETAILS = (
    "Message failed to send because there were too many messages sent from this phone "
    "number to the same phone number in a short period of time."
)


def accept(
    business: Business, number: BusinessNumber, payload: dict[str, Any]
) -> tuple[ChatMessage, dict[str, Any]]:
    """Validate a /messages request (not a read receipt) as Meta would: the message and
    Meta's answer, not yet kept. Raises GraphError for the synchronous refusals."""
    if payload.get("recipient_type", "individual") != "individual":
        raise invalid_parameter('recipient_type must be "individual" (groups are not simulated)')
    to_raw, to = recipient(business, number, payload)
    kind = payload.get("type", "text")
    check = message_types.CHECKS.get(kind)
    if kind == "template":
        text, details = business.templates.render_send(number.waba_id, payload)
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
    check_rates(business, number, to)
    message = ChatMessage(
        id=new_wamid(),
        phone=to,
        direction="outbound",
        type=kind,
        text=text,
        timestamp=business.clock.now(),
        status="accepted",
        details=details,
        context_id=context_id,
        business_id=number.phone_number_id,
        opaque=opaque,
        billing=pricing.bill(
            business.chats.phone(to).messages,
            number.phone_number_id,
            pricing.category_of(kind, details),
            window_open(business, to, number.phone_number_id),
            business.clock.now(),
        ),
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
    return message, answer


def recipient(
    business: Business, number: BusinessNumber, payload: dict[str, Any]
) -> tuple[str, str]:
    """Who a send is for, as given and as a phone: `to` (a phone number), or else
    `recipient`, a business-scoped user id the mock handed out in a webhook."""
    to_raw = payload.get("to")
    if to_raw is None and isinstance(payload.get("recipient"), str):
        given = payload["recipient"]
        if not BSUID.match(given):
            raise invalid_parameter(f"recipient {given!r} is not a business-scoped user id")
        phones = business.chats.phones
        phone = next((p for p in phones if bsuid(p, number.waba_id) == given), None)
        if phone is None:
            raise GraphError.of(131026, f"no WhatsApp user has the id {given}")
        return given, phone
    if not isinstance(to_raw, str) or not to_raw:
        raise invalid_parameter("to (or recipient) is required")
    to = canonical_phone(to_raw)
    if to is None:
        raise GraphError.of(131026, f"{to_raw} is not a valid WhatsApp phone number")
    return to_raw, to


def check_rates(business: Business, number: BusinessNumber, to: str) -> None:
    """Meta's synchronous refusals: throughput per number, then the pair limit."""
    if business.limits.throughput and not business.throughput.take(number.phone_number_id):
        raise GraphError.of(130429, THROUGHPUT_DETAILS)
    pair = f"{number.phone_number_id}:{to}"
    if business.limits.pair_rate_limit and not business.pairs.take(pair):
        raise GraphError.of(131056, PAIR_DETAILS)


def failure(business: Business, message: ChatMessage) -> dict[str, Any] | None:
    """Why an accepted message will fail (Meta reports these in a `failed` status, not in
    the answer to the send), or None when it will reach the phone."""
    state = business.chats.phone(message.phone).state
    if not state.on_whatsapp or state.blocked:
        return UNDELIVERABLE_ERROR
    # As of the send, not of now: a timeline resumed later (after a restart, a world's
    # pause or a capture) must not find a window closed that was open when Meta took it.
    in_window = window_open(business, message.phone, message.business_id, at=message.timestamp)
    if message.type != "template" and not in_window:
        return REENGAGEMENT_ERROR
    if message.type == "reaction" and not reactable(business, message):
        return UNKNOWN_MESSAGE_ERROR
    media_id = (message.details or {}).get("id")  # None when sent by link
    unknown_media = media_id is not None and media_id not in business.media.items
    if message.type in message_types.MEDIA_TYPES and unknown_media:
        return MEDIA_ERROR  # an id never uploaded, or deleted since
    return None


def reactable(business: Business, reaction: ChatMessage) -> bool:
    """A reaction must point at a message of the same chat that is not a reaction."""
    target = business.chats.by_id.get(str((reaction.details or {}).get("message_id")))
    return target is not None and target.phone == reaction.phone and target.type != "reaction"


def window_open(
    business: Business, number: str, business_id: str, at: datetime | None = None
) -> bool:
    """Whether the phone wrote to this business number within the 24 hours before `at`
    (default: now), so free-form messages from it may reach the phone. Each business
    number has its own window."""
    if not business.limits.window_24h:
        return True
    moment = business.clock.now() if at is None else at
    wanted = business.number(business_id).phone_number_id
    last = next(
        (
            m.timestamp
            for m in reversed(business.chats.phone(number).messages)
            # Messages kept before several numbers existed have no id: the default one.
            if m.direction == "inbound"
            and m.timestamp <= moment
            and business.number(m.business_id).phone_number_id == wanted
        ),
        None,
    )
    return last is not None and moment - last < WINDOW


def read_receipt(
    business: Business, payload: dict[str, Any]
) -> tuple[str, list[ChatMessage], bool]:
    """A `{"status": "read"}` request: the phone, the inbound messages it marks read (the
    one named and every earlier one of its chat not yet read) and whether it asks for
    "typing…"."""
    typing = payload.get("typing_indicator")
    if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
        raise invalid_parameter('typing_indicator.type must be "text"')
    message = business.chats.by_id.get(str(payload.get("message_id")))
    if message is None or message.direction != "inbound":
        raise GraphError(
            400,
            131009,
            "Parameter value is not valid",
            "message_id is not a known inbound message",
        )
    phone = business.chats.phone(message.phone)
    earlier = phone.messages[: phone.messages.index(message) + 1]
    unread = [m for m in earlier if m.direction == "inbound" and not m.read_by_business]
    return phone.number, unread, typing is not None
