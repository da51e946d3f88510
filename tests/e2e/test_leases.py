"""Delivery's work queue under crashes and load: leases of a killed delivery run out and
the work is taken up again, each message answered exactly once; one phone's messages are
answered in order while other phones' run beside them."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from stack_api import agent_conversation, chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e

# A short lease, so that work a killed delivery held is taken up again within seconds.
LEASE = "2s"


def _lease_stack(make_stack: Callable[..., Any]) -> Any:
    return make_stack(DELIVERY_LEASE=LEASE, MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS="0.5")


def _restart_delivery(stack: Any) -> None:
    stack.start_service("delivery")
    stack.wait_ready("delivery")


def _user_messages(http: httpx.Client, stack: Any, participant_id: str) -> list[str]:
    """What the agent took in from a participant, in the order it worked on it."""
    history = agent_conversation(http, stack, participant_id)["history"]
    return [item["content"] for item in history if item["role"] == "user"]


def _received(http: httpx.Client, stack: Any, participant_id: str) -> list[str]:
    """What delivery received from a participant, in the order it received it. The mock
    posts its webhooks concurrently, so that may differ from the order the phone sent
    them in (as with WhatsApp's webhooks); delivery keeps the order it received."""
    log = http.get(f"{stack.url('delivery')}/conversation/participants/{participant_id}/messages")
    log.raise_for_status()
    return [m["body"] for m in log.json()["result"] if m["direction"] == "inbound"]


def _answered_exactly_once(
    http: httpx.Client, stack: Any, phones: list[str], per_phone: int, wait_for: Callable[..., Any]
) -> None:
    def counts() -> dict[str, int]:
        return {phone: len(outbound(chat(http, stack, phone))) for phone in phones}

    wait_for(lambda: all(n >= per_phone for n in counts().values()), timeout=90, what="every reply")
    time.sleep(2 * 2)  # two leases: a duplicate, if any, would have shown by now
    assert counts() == {phone: per_phone for phone in phones}


def test_killed_during_slow_agent_calls_each_message_is_answered_once(
    make_stack: Callable[..., Any], wait_for: Callable[..., Any]
) -> None:
    stack = _lease_stack(make_stack)
    http = httpx.Client(timeout=10)
    phones = [unique_phone() for _ in range(4)]
    ids = {phone: enroll(http, stack, phone)["id"] for phone in phones}
    # Every agent call now takes 30 s (delivery's fault switch), far longer than we wait.
    resp = http.put(
        f"{stack.url('delivery')}/dev/faults/agent", json={"mode": "slow", "delay_seconds": 30}
    )
    assert resp.status_code == 200, resp.text
    for phone in phones:
        send(http, stack, phone, f"first from {phone}")
        send(http, stack, phone, f"second from {phone}")

    def agent_calls_in_flight() -> bool:
        events = http.get(f"{stack.url('delivery')}/dev/events").json()["result"]
        return sum(1 for e in events if e["kind"] == "webhook.message") >= 2 * len(phones)

    wait_for(agent_calls_in_flight, what="every message to reach delivery")
    time.sleep(0.5)  # the first message of each phone is now held by a slow agent call
    stack.stop_service("delivery", signal.SIGKILL)
    assert all(not outbound(chat(http, stack, phone)) for phone in phones)
    _restart_delivery(stack)  # its fault switch starts at "ok": the agent answers at once

    _answered_exactly_once(http, stack, phones, 2, wait_for)
    for phone in phones:
        received = _received(http, stack, ids[phone])
        assert sorted(received) == [f"first from {phone}", f"second from {phone}"]
        assert _user_messages(http, stack, ids[phone]) == received
    http.close()


def test_killed_during_whatsapp_sends_each_reply_reaches_the_phone_once(
    make_stack: Callable[..., Any], wait_for: Callable[..., Any]
) -> None:
    stack = _lease_stack(make_stack)
    http = httpx.Client(timeout=10)
    phones = [unique_phone() for _ in range(4)]
    for phone in phones:
        enroll(http, stack, phone)
    # Every call to the mock's messages endpoint (sends and read receipts) now lags 3 s.
    resp = http.post(
        f"{stack.url('mock_whatsapp')}/_mock/faults",
        json={"target": "messages", "latency_ms": 3000},
    )
    assert resp.status_code == 201, resp.text
    for phone in phones:
        send(http, stack, phone, "hello")

    def sends_in_flight() -> bool:
        events = http.get(f"{stack.url('delivery')}/dev/events").json()["result"]
        return sum(1 for e in events if e["kind"] == "reply.queued") >= len(phones)

    wait_for(sends_in_flight, what="every reply to be queued")
    time.sleep(0.5)  # the sends are now waiting on the lagging mock
    stack.stop_service("delivery", signal.SIGKILL)
    http.delete(f"{stack.url('mock_whatsapp')}/_mock/faults").raise_for_status()
    _restart_delivery(stack)

    _answered_exactly_once(http, stack, phones, 1, wait_for)
    http.close()


def test_one_phones_messages_are_answered_in_order_among_many(
    make_stack: Callable[..., Any], wait_for: Callable[..., Any]
) -> None:
    stack = _lease_stack(make_stack)
    http = httpx.Client(timeout=10)
    talkative, others = unique_phone(), [unique_phone() for _ in range(6)]
    talkative_id = enroll(http, stack, talkative)["id"]
    for phone in others:
        enroll(http, stack, phone)
    rounds = 10

    def other_phones() -> None:
        with httpx.Client(timeout=10) as client:
            for round_ in range(rounds):
                for phone in others:
                    send(client, stack, phone, f"other {round_}")

    chatter = threading.Thread(target=other_phones)
    chatter.start()
    for round_ in range(rounds):
        send(http, stack, talkative, f"message {round_}")
    chatter.join()

    wait_for(
        lambda: len(outbound(chat(http, stack, talkative))) >= rounds,
        timeout=90,
        what="every reply to the talkative phone",
    )
    received = _received(http, stack, talkative_id)
    assert sorted(received) == sorted(f"message {i}" for i in range(rounds))
    assert _user_messages(http, stack, talkative_id) == received
    messages = chat(http, stack, talkative)
    # Each reply comes after the message it answers: the k-th reply follows the k-th message.
    inbound_at = [i for i, m in enumerate(messages) if m["direction"] == "inbound"]
    outbound_at = [i for i, m in enumerate(messages) if m["direction"] == "outbound"]
    assert len(outbound_at) == rounds
    assert all(out > sent for sent, out in zip(inbound_at, outbound_at, strict=True))
    for phone in others:
        wait_for(lambda p=phone: len(outbound(chat(http, stack, p))) >= rounds, what="the others")
    http.close()
