"""What the end-to-end tests do to a running stack, through its public APIs only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def unique_phone() -> str:
    return "1555" + str(uuid.uuid4().int)[:7]


def enroll(http: httpx.Client, stack: Any, phone: str, name: str = "Ada Lovelace") -> dict:
    resp = http.post(
        f"{stack.url('delivery')}/conversation/participants",
        json={"phone_number": phone, "name": name, "timezone": "Europe/London"},
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "ok"
    return dict(body["result"])


def send(http: httpx.Client, stack: Any, phone: str, text: str) -> dict:
    """Make the phone send `text` to the business; returns the mock's record of it."""
    resp = http.post(
        f"{stack.url('mock_whatsapp')}/_mock/phones/{phone}/messages", json={"text": text}
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def chat(http: httpx.Client, stack: Any, phone: str) -> list[dict]:
    resp = http.get(f"{stack.url('mock_whatsapp')}/_mock/phones/{phone}/messages")
    resp.raise_for_status()
    return list(resp.json())


def agent_auth(stack: Any) -> dict[str, str]:
    """The header the agent wants from every caller but its health checks."""
    return {"Authorization": f"Bearer {stack.settings()['AGENT_API_TOKEN']}"}


def agent_conversation(http: httpx.Client, stack: Any, participant_id: str) -> dict:
    """The agent's view of a conversation (state, profile, history)."""
    resp = http.get(
        f"{stack.url('agent')}/conversations/{participant_id}", headers=agent_auth(stack)
    )
    resp.raise_for_status()
    return dict(resp.json())


def outbound(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["direction"] == "outbound"]


# Statuses in delivery's message log of work not finished yet: an inbound message not yet
# answered, a reply not yet handed to WhatsApp.
UNFINISHED = {"received", "processing", "queued"}


def settled(http: httpx.Client, stack: Any, participant_id: str) -> bool:
    """Whether delivery has answered every message it accepted from the participant and
    handed every reply to WhatsApp (the phone's chat then holds every reply there will
    be). Tests wait for this instead of sleeping "long enough" for a wrong extra reply."""
    resp = http.get(f"{stack.url('delivery')}/conversation/participants/{participant_id}/messages")
    resp.raise_for_status()
    return not any(m["status"] in UNFINISHED for m in resp.json()["result"])
