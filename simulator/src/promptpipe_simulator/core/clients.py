"""HTTP clients of delivery, mock_whatsapp and the agent, with typed errors."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, Field, TypeAdapter


class StackError(Exception):
    """A call to the stack failed; the message is fit to show a person."""


class Unreachable(StackError):
    """The service did not answer at all (down, or the network failed)."""


class Refused(StackError):
    """The service answered with an error."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Participant(BaseModel):
    """A participant as delivery's admin API returns one (fields it adds are ignored)."""

    id: str
    phone_number: str
    name: str = ""
    status: str = ""
    timezone: str = ""
    background: str = ""


class ChatMessage(BaseModel):
    """A message of a phone's chat as mock_whatsapp's control API returns one."""

    id: str
    direction: str  # inbound: the participant wrote it; outbound: the coach did
    type: str = "text"
    text: str = ""
    timestamp: str = ""
    status: str | None = None
    interactive: dict[str, Any] | None = None
    template: dict[str, Any] | None = None
    reaction: dict[str, Any] | None = None
    context_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    # The participant's own messages: whether the business marked them read (blue ticks).
    read_by_business: bool | None = None

    @property
    def buttons(self) -> list[dict[str, str]]:
        """The reply buttons this message offers (none for other kinds)."""
        return list((self.interactive or {}).get("buttons") or [])

    @property
    def rows(self) -> list[dict[str, str]]:
        """The rows of a list message, across its sections."""
        sections = (self.interactive or {}).get("sections") or []
        return [row for section in sections for row in section.get("rows") or []]


_PARTICIPANTS = TypeAdapter(list[Participant])
CHAT = TypeAdapter(list[ChatMessage])  # a phone's chat, oldest first


async def _call(
    client: httpx.AsyncClient, service: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    try:
        resp = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise Unreachable(f"{service} is not reachable ({type(exc).__name__})") from exc
    if resp.status_code >= 400:
        raise Refused(f"{service}: {_error_text(resp)}", resp.status_code)
    return resp


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return str(body["error"].get("message", resp.status_code))
        if body.get("message"):
            return str(body["message"])
    return f"HTTP {resp.status_code}"


class DeliveryClient:
    """delivery's admin API (PromptPipe's envelope)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str = "") -> None:
        self.client, self.base = client, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def participants(self) -> list[Participant]:
        resp = await _call(
            self.client,
            "delivery",
            "GET",
            f"{self.base}/conversation/participants",
            headers=self.headers,
        )
        return _PARTICIPANTS.validate_python(resp.json().get("result") or [])

    async def enroll(self, **fields: str) -> Participant:
        resp = await _call(
            self.client,
            "delivery",
            "POST",
            f"{self.base}/conversation/participants",
            json=fields,
            headers=self.headers,
        )
        return Participant.model_validate(resp.json()["result"])

    async def set_status(self, participant_id: str, status: str) -> Participant:
        """Pause ("paused") or resume ("active") a participant; takes effect at once."""
        resp = await _call(
            self.client,
            "delivery",
            "PUT",
            f"{self.base}/conversation/participants/{participant_id}",
            json={"status": status},
            headers=self.headers,
        )
        return Participant.model_validate(resp.json()["result"])

    async def delete(self, participant_id: str) -> None:
        """Delete a participant; delivery cancels their jobs and sends them nothing more."""
        await _call(
            self.client,
            "delivery",
            "DELETE",
            f"{self.base}/conversation/participants/{participant_id}",
            headers=self.headers,
        )

    async def clock(self) -> dict[str, Any]:
        """The stack's (virtual) time: {"now", "offset_seconds"}."""
        resp = await _call(
            self.client, "delivery", "GET", f"{self.base}/dev/clock", headers=self.headers
        )
        return dict(resp.json())

    async def advance_clock(self, duration: str) -> dict[str, Any]:
        """Move the stack's time forward, e.g. "10m" or "5h"; due jobs fire at once."""
        resp = await _call(
            self.client,
            "delivery",
            "POST",
            f"{self.base}/dev/clock",
            json={"advance": duration},
            headers=self.headers,
        )
        return dict(resp.json())

    async def jobs(self, participant_id: str) -> list[dict[str, Any]]:
        """Everything pending for a participant: daily schedules and one-shot events."""
        return await self._result("GET", f"/conversation/participants/{participant_id}/jobs")

    async def message_log(self, participant_id: str) -> list[dict[str, Any]]:
        """delivery's log of a participant's messages, both directions, with statuses."""
        return await self._result("GET", f"/conversation/participants/{participant_id}/messages")

    async def set_agent_fault(self, mode: str, delay_seconds: float = 0) -> dict[str, Any]:
        """Make delivery's calls to the agent fail ("down"), lag ("slow") or work ("ok")."""
        resp = await _call(
            self.client,
            "delivery",
            "PUT",
            f"{self.base}/dev/faults/agent",
            json={"mode": mode, "delay_seconds": delay_seconds},
            headers=self.headers,
        )
        return dict(resp.json().get("result") or {})

    async def agent_fault(self) -> dict[str, Any]:
        resp = await _call(
            self.client, "delivery", "GET", f"{self.base}/dev/faults/agent", headers=self.headers
        )
        return dict(resp.json().get("result") or {})

    async def events(self, after: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """delivery's own work (agent calls, outbox sends, statuses) after event `after`."""
        resp = await _call(
            self.client,
            "delivery",
            "GET",
            f"{self.base}/dev/events",
            params={"after": after, "limit": limit},
            headers=self.headers,
        )
        return list(resp.json().get("result") or [])

    async def post_webhook(self, body: bytes, signature: str) -> int:
        """POST a raw webhook to delivery as Meta would; returns the status code."""
        resp = await _call(
            self.client,
            "delivery",
            "POST",
            f"{self.base}/webhooks/whatsapp",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        return resp.status_code

    async def _result(self, method: str, path: str) -> list[dict[str, Any]]:
        resp = await _call(self.client, "delivery", method, self.base + path, headers=self.headers)
        return list(resp.json().get("result") or [])

    async def healthy(self) -> bool:
        return await _ready(self.client, f"{self.base}/readyz")


class MockWhatsAppClient:
    """mock_whatsapp's control API: the phones."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client, self.base = client, base_url.rstrip("/")

    async def send_text(self, phone: str, text: str) -> ChatMessage:
        resp = await _call(
            self.client,
            "mock_whatsapp",
            "POST",
            f"{self.base}/_mock/phones/{phone}/messages",
            json={"text": text},
        )
        return ChatMessage.model_validate(resp.json())

    async def tap_button(self, phone: str, button: dict[str, str], context_id: str) -> ChatMessage:
        """The phone taps a reply button of the business's message `context_id`."""
        body = {"type": "interactive", "button_reply": button, "context_id": context_id}
        resp = await _call(
            self.client,
            "mock_whatsapp",
            "POST",
            f"{self.base}/_mock/phones/{phone}/messages",
            json=body,
        )
        return ChatMessage.model_validate(resp.json())

    async def tap_row(self, phone: str, row: dict[str, str], context_id: str) -> ChatMessage:
        """The phone picks a row of the business's list message `context_id`."""
        body = {"type": "interactive", "list_reply": row, "context_id": context_id}
        return await self._phone_sends(phone, body)

    async def react(self, phone: str, message_id: str, emoji: str) -> ChatMessage:
        body = {"type": "reaction", "reaction": {"message_id": message_id, "emoji": emoji}}
        return await self._phone_sends(phone, body)

    async def _phone_sends(self, phone: str, body: dict[str, Any]) -> ChatMessage:
        resp = await _call(
            self.client,
            "mock_whatsapp",
            "POST",
            f"{self.base}/_mock/phones/{phone}/messages",
            json=body,
        )
        return ChatMessage.model_validate(resp.json())

    async def chat(self, phone: str) -> list[ChatMessage]:
        resp = await _call(
            self.client, "mock_whatsapp", "GET", f"{self.base}/_mock/phones/{phone}/messages"
        )
        return CHAT.validate_python(resp.json())

    async def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook the fake Meta posted, with each attempt's status and latency."""
        resp = await _call(
            self.client, "mock_whatsapp", "GET", f"{self.base}/_mock/webhooks/deliveries"
        )
        return list(resp.json())

    async def add_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        """Inject a fault (WhatsApp errors, slow sends, lost or doubled webhooks)."""
        resp = await _call(
            self.client, "mock_whatsapp", "POST", f"{self.base}/_mock/faults", json=fault
        )
        return dict(resp.json().get("fault") or {})

    async def faults(self) -> dict[str, Any]:
        """{"faults": [...], "limits": {...}}: what is injected now."""
        resp = await _call(self.client, "mock_whatsapp", "GET", f"{self.base}/_mock/faults")
        return dict(resp.json())

    async def clear_faults(self, fault_id: str | None = None) -> None:
        path = f"/_mock/faults/{fault_id}" if fault_id else "/_mock/faults"
        await _call(self.client, "mock_whatsapp", "DELETE", self.base + path)

    async def phones(self) -> list[dict[str, Any]]:
        """Every phone with a summary of its chat (`received`, `last_message_at`)."""
        resp = await _call(self.client, "mock_whatsapp", "GET", f"{self.base}/_mock/phones")
        return list(resp.json())

    async def name_phone(self, phone: str, name: str, auto_read: bool | None = None) -> None:
        """Name the phone; `auto_read` False makes it read only when its chat is opened
        (`read_chat`), as a person does, so its unread count means something."""
        profile: dict[str, Any] = {"name": name}
        if auto_read is not None:
            profile["auto_read"] = auto_read
        await _call(
            self.client,
            "mock_whatsapp",
            "PUT",
            f"{self.base}/_mock/phones/{phone}",
            json=profile,
        )

    async def templates(self) -> list[dict[str, Any]]:
        """Every message template of the mock's WhatsApp Business Accounts with its review
        status: [{"name", "language", "category", "status", "rejected_reason", …}]."""
        resp = await _call(self.client, "mock_whatsapp", "GET", f"{self.base}/_mock/templates")
        return list(resp.json().get("templates") or [])

    async def read_chat(self, phone: str) -> int:
        """The phone opens its chat: what was delivered turns read. Returns how many."""
        resp = await _call(
            self.client, "mock_whatsapp", "POST", f"{self.base}/_mock/phones/{phone}/read"
        )
        return int(resp.json().get("read") or 0)

    async def healthy(self) -> bool:
        return await _ready(self.client, f"{self.base}/readyz")


class AgentClient:
    """The agent's read-only view of a conversation."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str = "") -> None:
        self.client, self.base = client, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def conversation(self, participant_id: str) -> dict[str, Any] | None:
        try:
            resp = await _call(
                self.client,
                "agent",
                "GET",
                f"{self.base}/conversations/{participant_id}",
                headers=self.headers,
            )
        except Refused as exc:
            if exc.status == 404:
                return None
            raise
        return dict(resp.json())

    async def conversations(self) -> list[dict[str, Any]]:
        """Every conversation's sub-state: [{"participant_id", "state", "turns", ...}]."""
        resp = await _call(
            self.client, "agent", "GET", f"{self.base}/conversations", headers=self.headers
        )
        return list(resp.json().get("conversations") or [])

    async def healthy(self) -> bool:
        return await _ready(self.client, f"{self.base}/readyz")


async def _ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
