"""One WhatsApp message end to end over native processes: phone → delivery → agent → phone."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from stack_api import agent_conversation, chat, enroll, outbound, send, settled, unique_phone

pytestmark = pytest.mark.e2e

APP_SECRET = "dev-app-secret"
PHONE_NUMBER_ID = "100000000000001"


def signed_webhook(
    phone: str, wamid: str, text: str, secret: str = APP_SECRET
) -> tuple[bytes, str]:
    """A Meta-shaped inbound-message webhook and its X-Hub-Signature-256 value."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "200000000000001",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001234",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Test"}, "wa_id": phone}],
                            "messages": [
                                {
                                    "from": phone,
                                    "id": wamid,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, signature


def post_webhook(http: httpx.Client, stack: Any, body: bytes, signature: str) -> httpx.Response:
    return http.post(
        f"{stack.url('delivery')}/webhooks/whatsapp",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


def test_hello_reaches_the_agent_and_its_reply_reaches_the_phone(
    stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = unique_phone()
    participant = enroll(http, stack, phone)

    started = time.monotonic()
    sent = http.post(
        f"{stack.url('mock_whatsapp')}/_mock/phones/{phone}/messages", json={"text": "Hello!"}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["id"].startswith("wamid.")

    replies = wait_for(lambda: outbound(chat(http, stack, phone)), what="the agent's reply")
    latency = time.monotonic() - started
    print(f"round trip: {latency * 1000:.0f} ms")

    assert len(replies) == 1
    reply = replies[0]
    assert reply["text"]
    assert reply["id"].startswith("wamid.")
    # The reply is the agent's, not delivery's fallback or default acknowledgement: the
    # agent recorded this very turn for this participant.
    state = agent_conversation(http, stack, participant["id"])
    contents = [turn["content"] for turn in state["history"]]
    assert "Hello!" in contents
    assert reply["text"] in contents
    # The phone sees the message ticked at least "sent"; statuses flow back to delivery.
    final = wait_for(
        lambda: [m for m in outbound(chat(http, stack, phone)) if m["status"] == "read"],
        what="the read status",
    )
    assert final[0]["id"] == reply["id"]


def test_unknown_sender_gets_an_acknowledgement_not_the_agent(
    stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = unique_phone()
    http.post(f"{stack.url('mock_whatsapp')}/_mock/phones/{phone}/messages", json={"text": "hi"})
    replies = wait_for(lambda: outbound(chat(http, stack, phone)), what="the acknowledgement")
    assert len(replies) == 1
    assert replies[0]["text"]


def test_webhook_with_bad_signature_is_refused_and_produces_no_reply(
    stack: Any, http: httpx.Client
) -> None:
    phone = unique_phone()
    participant = enroll(http, stack, phone)
    body, _ = signed_webhook(phone, f"wamid.bad-{uuid.uuid4().hex}", "Hello!")
    _, wrong = signed_webhook(phone, "wamid.other", "Hello!", secret="not-the-secret")

    for signature in (wrong, "sha256=deadbeef", ""):
        resp = post_webhook(http, stack, body, signature)
        assert resp.status_code == 401, resp.text

    # delivery records an accepted message before it answers the webhook, so an empty log
    # now means none of the three got in; and with nothing in it, nothing can be answered.
    log = http.get(
        f"{stack.url('delivery')}/conversation/participants/{participant['id']}/messages"
    )
    assert log.status_code == 200
    assert log.json()["result"] == []
    assert outbound(chat(http, stack, phone)) == []


def test_the_same_webhook_delivered_twice_produces_one_reply(
    stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = unique_phone()
    pid = enroll(http, stack, phone)["id"]
    # A first message through the mock opens the phone's 24-hour window, as in real life.
    send(http, stack, phone, "Hi")
    wait_for(lambda: outbound(chat(http, stack, phone)), what="the first reply")
    body, signature = signed_webhook(phone, f"wamid.dup-{uuid.uuid4().hex}", "Hello!")

    first = post_webhook(http, stack, body, signature)
    second = post_webhook(http, stack, body, signature)
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text

    wait_for(lambda: len(outbound(chat(http, stack, phone))) >= 2, what="the reply")
    # Once delivery has nothing left to answer or send, a second reply would be here.
    wait_for(lambda: settled(http, stack, pid), what="delivery to finish its work")
    assert len(outbound(chat(http, stack, phone))) == 2
