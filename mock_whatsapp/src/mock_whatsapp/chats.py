"""The phones and their chats with the business, held in memory; every change is also
recorded in the journal."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mock_whatsapp.journal import Journal, Saved

# Statuses of an outbound message, in the order a phone moves through them.
STATUS_ORDER = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def new_wamid() -> str:
    """An opaque id shaped like Meta's: "wamid." and base64, well under 128 characters."""
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + os.urandom(27)).decode()


# Calling codes → ISO country, for the country prefix of business-scoped user ids; the
# mock's phones are mostly North American, the rest get a code from this short list.
COUNTRIES = {
    "1": "US",
    "7": "RU",
    "27": "ZA",
    "31": "NL",
    "33": "FR",
    "34": "ES",
    "39": "IT",
    "44": "GB",
    "49": "DE",
    "52": "MX",
    "55": "BR",
    "61": "AU",
    "81": "JP",
    "86": "CN",
    "91": "IN",
    "234": "NG",
    "254": "KE",
    "255": "TZ",
}


@functools.lru_cache(maxsize=65536)  # on every webhook and status; a hash each time
def bsuid(phone: str, business_key: str) -> str:
    """The phone's business-scoped user id (BSUID) as Meta sends it since 2026 in
    `contacts[].user_id`: ISO country, a dot, digits; stable per business and phone."""
    country = next((COUNTRIES[phone[:n]] for n in (3, 2, 1) if phone[:n] in COUNTRIES), "ZZ")
    digest = hashlib.sha256(f"{business_key}:{phone}".encode()).digest()
    return f"{country}.{int.from_bytes(digest[:8], 'big')}"


# A number as people write it: an optional +, digits, and spaces, dots, dashes or
# brackets between them. Anything else ("ext 9", letters) is not folded into the number.
_WRITTEN_PHONE = re.compile(r"\+?[0-9][0-9 ().-]*")


def canonical_phone(raw: str) -> str | None:
    """E.164 digits: 6 to 15 of them (E.164 allows 15), no leading zero (no country code
    starts with one); None when `raw` is not such a number."""
    if not _WRITTEN_PHONE.fullmatch(raw.strip()):
        return None
    digits = re.sub(r"\D", "", raw)
    return digits if 6 <= len(digits) <= 15 and digits[0] != "0" else None


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class ChatMessage:
    """One message of a chat, in either direction."""

    id: str
    phone: str
    direction: str  # "inbound" = phone to business, "outbound" = business to phone
    type: str
    text: str
    timestamp: datetime
    status: str | None = None  # outbound only
    # Type-specific details: buttons or list rows, a template's name and parameters, a
    # media object, a reaction's target and emoji, a tapped reply.
    details: dict[str, Any] | None = None
    context_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    # The business phone number id the message went to or came from ("" = the default).
    business_id: str = ""
    # The business's biz_opaque_callback_data, echoed in every status of the message.
    opaque: str | None = None
    # Inbound only: the business marked it (or a later message) read: blue ticks.
    read_by_business: bool = False
    # Outbound only: what Meta charges for it and its conversation (pricing.py).
    billing: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "direction": self.direction,
            "type": self.type,
            "text": self.text,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
        }
        if self.direction == "outbound":
            out["status"] = self.status
        else:
            out["read_by_business"] = self.read_by_business
        if self.type == "text" and self.details:
            out.update(self.details)  # e.g. preview_url; "text" stays the words shown
        elif self.details is not None:
            out[self.type] = self.details
        if self.context_id:
            out["context_id"] = self.context_id
        if self.errors:
            out["errors"] = self.errors
        return out


@dataclass
class PhoneState:
    """What the phone can do right now. Offline: messages stop at `sent` until it is back;
    blocked (the business) or not on WhatsApp: sends fail with 131026; auto_read off:
    messages stop at `delivered` until the phone reads them."""

    online: bool = True
    blocked: bool = False
    on_whatsapp: bool = True
    auto_read: bool = True

    def view(self) -> dict[str, bool]:
        return asdict(self)


@dataclass
class Phone:
    number: str
    name: str = ""
    messages: list[ChatMessage] = field(default_factory=list)
    # When the phone last wrote to any business number; None until it first writes. (The
    # 24-hour window of each number is read from the chat, see Business.window_open.)
    last_inbound_at: datetime | None = None
    state: PhoneState = field(default_factory=PhoneState)
    # "typing…" shows until then (the mock's clock), or until the business's next message.
    typing_until: datetime | None = None


class Chats:
    """All phones, every message by wamid, and the answers given per Idempotency-Key.
    Every change is also written to the journal, so that a restart keeps it."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal or Journal()
        self.phones: dict[str, Phone] = {}
        self.by_id: dict[str, ChatMessage] = {}
        self.idempotent_answers: dict[str, dict[str, Any]] = {}

    def restore(self, saved: Saved) -> None:
        """Rebuild the chats a journal kept."""
        for p in saved.phones:
            state = PhoneState(**(p.get("state") or {}))
            self.phones[p["number"]] = Phone(
                p["number"], p["name"], [], p["last_inbound_at"], state
            )
        for data in saved.messages:
            message = ChatMessage(
                **{**data, "timestamp": datetime.fromisoformat(data["timestamp"])}
            )
            self.phone(message.phone).messages.append(message)
            self.by_id[message.id] = message
        self.idempotent_answers.update(saved.answers)

    def phone(self, number: str) -> Phone:
        if number not in self.phones:
            self.phones[number] = Phone(number)
            self.journal.save_phone(number, "", None)
        return self.phones[number]

    def rename(self, number: str, name: str) -> Phone:
        phone = self.phone(number)
        phone.name = name
        self.journal.save_phone(number, name, phone.last_inbound_at)
        return phone

    def set_state(self, number: str, **changes: bool) -> Phone:
        phone = self.phone(number)
        for name, value in changes.items():
            setattr(phone.state, name, value)
        self.journal.save_phone_state(number, phone.state.view())
        return phone

    def wrote(self, number: str, at: datetime, record: bool = True) -> None:
        """The phone wrote to the business at `at`: its 24-hour window starts again.
        `record=False` when the journal has it already (an acknowledged change)."""
        phone = self.phone(number)
        phone.last_inbound_at = at
        if record:
            self.journal.save_phone(number, phone.name, at)

    def remember_answer(self, key: str, answer: dict[str, Any], record: bool = True) -> None:
        self.idempotent_answers[key] = answer
        if record:
            self.journal.save_answer(key, answer)

    def add(self, message: ChatMessage, record: bool = True) -> ChatMessage:
        """Put the message in its chat; `record=False` when the journal has it already."""
        self.phone(message.phone).messages.append(message)
        self.by_id[message.id] = message
        if record:
            self.journal.save_message(message)
        return message

    def advance(self, wamid: str, status: str) -> bool:
        """Move an outbound message to `status` unless it is already further along."""
        message = self.by_id.get(wamid)
        if message is None or message.direction != "outbound":
            return False
        if STATUS_ORDER[status] <= STATUS_ORDER.get(message.status or "accepted", 0):
            return False
        message.status = status
        self.journal.save_message(message)
        return True

    def forget(self) -> None:
        """Forget every phone and chat in memory (the journal is cleared by the caller)."""
        self.phones.clear()
        self.by_id.clear()
        self.idempotent_answers.clear()
