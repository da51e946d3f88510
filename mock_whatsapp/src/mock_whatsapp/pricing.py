"""What Meta charges for a message and the conversation it belongs to, as status webhooks
report them in `pricing` and `conversation`.

Meta prices each delivered message by category: a template's category (marketing,
utility, authentication) or `service` for a free-form reply. Service messages, and utility
templates sent while the customer-service window is open, are free (`billable: false`,
type `free_customer_service`); the rest are `regular` and billable. A conversation is the
24 hours of one category between a business number and a user, opened by the first
message of that category: later messages of the category reuse its id until it expires.

Both objects come with the `sent` status and with the first of `delivered` or `read`
(Meta's rule), `expiration_timestamp` with `sent` only. The `conversation` object is
what webhooks up to v23.0 carry (from v24.0 Meta drops it outside free-entry-point
conversations); client libraries still parse it, so the mock sends it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

CONVERSATION = timedelta(hours=24)
FREE_IN_WINDOW = ("service", "utility")


def bill(
    chat: list[Any], business_id: str, category: str, window_open: bool, now: datetime
) -> dict[str, Any]:
    """The pricing of a new outbound message of `category` in this chat (the phone's
    messages, oldest first), and the conversation it opens or joins."""
    free = window_open and category in FREE_IN_WINDOW
    conversation_id, expires = secrets.token_hex(16), now + CONVERSATION
    for earlier in reversed(chat):
        billing = getattr(earlier, "billing", None)
        if (
            billing
            and earlier.business_id == business_id
            and billing["category"] == category
            and datetime.fromisoformat(billing["expires_at"]) > now
        ):
            conversation_id = billing["conversation_id"]
            expires = datetime.fromisoformat(billing["expires_at"])
            break
    return {
        "category": category,
        "billable": not free,
        "type": "free_customer_service" if free else "regular",
        "conversation_id": conversation_id,
        "expires_at": expires.isoformat(),
        "priced": [],  # the statuses that carried it so far
    }


def category_of(kind: str, details: dict[str, Any] | None) -> str:
    """A template's category, or `service` for any other message."""
    if kind == "template" and details and details.get("category"):
        return str(details["category"])
    return "service"


def status_fields(billing: dict[str, Any] | None, status: str) -> dict[str, Any]:
    """`conversation` and `pricing` for a status webhook, when this status carries them:
    `sent`, and whichever of `delivered` and `read` is reported first."""
    if billing is None or status == "failed":
        return {}
    priced = billing.setdefault("priced", [])
    if status != "sent" and any(s in priced for s in ("delivered", "read")):
        return {}
    priced.append(status)
    conversation: dict[str, Any] = {"id": billing["conversation_id"]}
    if status == "sent":
        expires = datetime.fromisoformat(billing["expires_at"])
        conversation["expiration_timestamp"] = str(int(expires.timestamp()))
    conversation["origin"] = {"type": billing["category"]}
    return {
        "conversation": conversation,
        "pricing": {
            "billable": billing["billable"],
            "pricing_model": "PMP",
            "type": billing["type"],
            "category": billing["category"],
        },
    }
