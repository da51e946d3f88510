"""SIGKILL delivery again and again under a stream of messages: every accepted message
still gets exactly one reply."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from stack_api import chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e

PHONES = 5
ROUNDS = 16


def test_killing_delivery_loses_no_message_and_sends_no_reply_twice(
    make_stack: Callable[..., Any], wait_for: Callable[..., Any]
) -> None:
    # Webhook retries back off to at most half a second so the test stays short.
    stack = make_stack(MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS="0.5")
    http = httpx.Client(timeout=10)
    phones = [unique_phone() for _ in range(PHONES)]
    for phone in phones:
        enroll(http, stack, phone)

    def stream() -> None:
        with httpx.Client(timeout=10) as client:
            for round_ in range(ROUNDS):
                for phone in phones:
                    send(client, stack, phone, f"message {round_}")
                time.sleep(0.15)

    sender = threading.Thread(target=stream)
    sender.start()
    kills = 0
    rng = random.Random(7)
    while sender.is_alive():
        time.sleep(rng.uniform(0.2, 0.6))
        stack.stop_service("delivery", signal.SIGKILL)
        kills += 1
        stack.start_service("delivery")
        stack.wait_ready("delivery")
    sender.join()

    sent = PHONES * ROUNDS

    def replies() -> dict[str, int]:
        return {phone: len(outbound(chat(http, stack, phone))) for phone in phones}

    wait_for(lambda: sum(replies().values()) >= sent, timeout=90, what="every reply")
    time.sleep(2)  # a duplicate, if any, would show up by now
    counts = replies()
    received = sum(min(n, ROUNDS) for n in counts.values())
    duplicated = sum(max(n - ROUNDS, 0) for n in counts.values())
    print(
        f"crash test: kills={kills} sent={sent} replied={received} "
        f"lost={sent - received} duplicated={duplicated}"
    )
    assert kills >= 3
    assert counts == {phone: ROUNDS for phone in phones}
    http.close()


def test_killing_the_mock_loses_no_pending_webhook(
    make_stack: Callable[..., Any], wait_for: Callable[..., Any]
) -> None:
    stack = make_stack(MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS="0.5")
    http = httpx.Client(timeout=10)
    phone = unique_phone()
    enroll(http, stack, phone)
    send(http, stack, phone, "hi")
    wait_for(lambda: outbound(chat(http, stack, phone)), what="the first reply")

    stack.stop_service("delivery")  # webhooks now pile up at the mock
    for text in ("one", "two", "three"):
        send(http, stack, phone, text)
    stack.stop_service("mock_whatsapp", signal.SIGKILL)  # and the mock dies holding them
    stack.start_service("mock_whatsapp")
    stack.wait_ready("mock_whatsapp")
    stack.start_service("delivery")
    stack.wait_ready("delivery")

    wait_for(lambda: len(outbound(chat(http, stack, phone))) == 4, what="three more replies")
    time.sleep(1)
    messages = chat(http, stack, phone)
    assert [m["text"] for m in messages if m["direction"] == "inbound"] == [
        "hi",
        "one",
        "two",
        "three",
    ]
    assert len(outbound(messages)) == 4
    http.close()
