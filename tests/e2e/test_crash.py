"""SIGKILL delivery again and again under load from simulated participants (the load
test's Locust user, `simulator load`): every accepted message still gets exactly one
reply. Then kill the mock holding undelivered webhooks: none is lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from stack_api import chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e

PARTICIPANTS = 5
MESSAGES = 16  # each; personalize's intake, then small talk in FEEDBACK
MAX_KILLS = 10


def test_killing_delivery_loses_no_message_and_sends_no_reply_twice(
    make_stack: Callable[..., Any], wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    # Webhook retries back off to at most half a second so the test stays short.
    stack = make_stack(MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS="0.5")
    stats_file = tmp_path / "stats"
    load = subprocess.Popen(
        [
            *[sys.executable, "-m", "promptpipe_simulator", "load"],
            *["--participants", str(PARTICIPANTS), "--spawn-rate", str(PARTICIPANTS)],
            *["--duration", "3m", "--messages", str(MESSAGES), "--within", "60"],
            *["--think", "0.15", "--silent", "0", "--try-now", "0"],
            *["--", "--json-file", str(stats_file)],
        ],
        env={
            **os.environ,
            "SIM_DELIVERY_URL": stack.url("delivery"),
            "SIM_MOCK_WA_URL": stack.url("mock_whatsapp"),
            "SIM_AGENT_URL": stack.url("agent"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        http = httpx.Client(timeout=10)
        # Enrollment goes through delivery: start killing once everyone is in.
        wait_for(
            lambda: (
                len(http.get(f"{stack.url('delivery')}/conversation/participants").json()["result"])
                == PARTICIPANTS
            ),
            what="the participants' enrollment",
        )
        kills = 0
        rng = random.Random(7)
        while load.poll() is None and kills < MAX_KILLS:
            time.sleep(rng.uniform(0.2, 0.6))
            stack.stop_service("delivery", signal.SIGKILL)
            kills += 1
            stack.start_service("delivery")
            stack.wait_ready("delivery")
        output, _ = load.communicate(timeout=240)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    print(output[-4000:])
    stats = {
        (e["method"], e["name"]): e for e in json.loads(stats_file.with_suffix(".json").read_text())
    }
    replies = [e for (method, _), e in stats.items() if method == "reply"]
    sent = stats[("POST", "send")]["num_requests"]
    replied = sum(e["num_requests"] - e["num_failures"] for e in replies)
    lost = stats.get(("check", "lost"), {}).get("num_failures", 0)
    duplicated = stats.get(("check", "duplicated"), {}).get("num_failures", 0)
    print(
        f"crash test: kills={kills} sent={sent} replied={replied} "
        f"lost={lost} duplicated={duplicated}"
    )
    assert kills >= 3
    assert load.returncode == 0  # no Locust failure: no reply lost, late or doubled
    assert sent == PARTICIPANTS * MESSAGES and replied == sent
    assert stats[("check", "chat")]["num_requests"] == PARTICIPANTS
    assert stats[("check", "chat")]["num_failures"] == 0
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
