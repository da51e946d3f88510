"""Time travel across the stack: a scheduled prompt fires after a clock advance, the agent
writes it, and it reaches the phone stamped with the virtual time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from stack_api import chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e


def test_daily_prompt_fires_after_a_clock_advance(
    clock_stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = clock_stack  # moving its clock must not disturb the tests on the shared stack
    delivery = stack.url("delivery")
    phone = unique_phone()
    participant = enroll(http, stack, phone)
    # The participant writes first: free-form prompts reach them for the next 24 hours.
    send(http, stack, phone, "Hello!")
    wait_for(lambda: outbound(chat(http, stack, phone)), what="the greeting")
    now = datetime.fromisoformat(http.get(f"{delivery}/dev/clock").json()["now"])
    london = ZoneInfo("Europe/London")
    at = (now + timedelta(hours=3)).astimezone(london)

    created = http.post(
        f"{delivery}/conversation/participants/{participant['id']}/schedules",
        json={"kind": "daily_prompt", "local_time": at.strftime("%H:%M")},
    )
    assert created.status_code == 201, created.text
    assert created.json()["result"]["timezone"] == "Europe/London"  # the participant's

    moved = http.post(f"{delivery}/dev/clock", json={"advance": "3h"}).json()
    assert moved["offset_seconds"] >= 3 * 3600 - 5  # less the real time the trip took

    _, prompt = wait_for(
        lambda: outbound(chat(http, stack, phone))[1:] and outbound(chat(http, stack, phone)),
        what="the daily prompt",
    )
    assert "habit" in prompt["text"]
    stamped = datetime.fromisoformat(prompt["timestamp"].replace("Z", "+00:00"))
    assert stamped - now > timedelta(hours=2, minutes=59)  # the mock follows the clock
    jobs = http.get(f"{delivery}/conversation/participants/{participant['id']}/jobs").json()
    [schedule] = [j for j in jobs["result"] if j["kind"] == "daily_prompt"]
    next_run = datetime.fromisoformat(schedule["next_run_at"].replace("Z", "+00:00"))
    assert next_run.astimezone(london).strftime("%H:%M") == at.strftime("%H:%M")
    assert next_run - stamped > timedelta(hours=23)


def test_closed_window_is_answered_with_the_template(
    stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = unique_phone()  # has never written: the 24-hour window is closed
    sent = http.post(
        f"{stack.url('delivery')}/send", json={"to": phone, "body": "Time for your habit!"}
    )
    assert sent.status_code == 200, sent.text
    refused, template = wait_for(
        lambda: len(outbound(chat(http, stack, phone))) == 2 and outbound(chat(http, stack, phone)),
        what="the refused message and the template",
    )
    assert refused["status"] == "failed" and refused["errors"][0]["code"] == 131047
    assert template["type"] == "template" and template["template"]["name"] == "habit_checkin"
    wait_for(
        lambda: outbound(chat(http, stack, phone))[1]["status"] == "read", what="template read"
    )
