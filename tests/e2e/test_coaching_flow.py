"""The coaching flow end to end on the offline coach: intake sets up the daily prompt at
delivery; a clock jump brings the prompt with buttons; "Done" cancels the reminder; an
ignored prompt gets its reminder five hours later."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from stack_api import chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e


def test_intake_prompt_done_and_reminder(
    make_stack: Callable[..., Any], http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = make_stack()  # its own clock
    delivery, mock = stack.url("delivery"), stack.url("mock_whatsapp")
    phone = unique_phone()
    participant = enroll(http, stack, phone)  # timezone Europe/London
    pid = participant["id"]

    def replies() -> list[dict]:
        return outbound(chat(http, stack, phone))

    def say(text: str) -> dict:
        count = len(replies())
        send(http, stack, phone, text)
        return wait_for(lambda: replies()[count:], what=f"the reply to {text!r}")[0]

    for answer in ["Hello!", "moving more", "more energy", "my morning coffee"]:
        say(answer)
    plan = say("7:30am")
    assert "07:20" in plan["text"]
    [schedule] = http.get(f"{delivery}/conversation/participants/{pid}/schedules").json()["result"]
    assert (schedule["kind"], schedule["local_time"], schedule["timezone"]) == (
        "daily_prompt",
        "07:20",
        "Europe/London",
    )

    # Jump to 90 s past the next 07:20 in London: the prompt comes, with buttons.
    due = datetime.fromisoformat(schedule["next_run_at"].replace("Z", "+00:00"))
    now = datetime.fromisoformat(http.get(f"{delivery}/dev/clock").json()["now"])
    jump = int((due - now).total_seconds()) + 90
    http.post(f"{delivery}/dev/clock", json={"advance": f"{jump}s"})
    prompt = wait_for(lambda: replies()[5:], what="the daily prompt")[0]
    assert prompt["type"] == "interactive"
    assert [b["title"] for b in prompt["interactive"]["buttons"]] == ["Done", "Next time"]
    stamped = datetime.fromisoformat(prompt["timestamp"].replace("Z", "+00:00"))
    assert (
        stamped.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") == "07:20"
    )  # fired at its own time
    jobs = http.get(f"{delivery}/conversation/participants/{pid}/jobs").json()["result"]
    assert sorted(j["kind"] for j in jobs) == ["daily_prompt", "reminder"]

    # The participant taps "Done": the coach asks what helped, the reminder is canceled.
    count = len(replies())
    tap = {
        "type": "interactive",
        "button_reply": {"id": "done", "title": "Done"},
        "context_id": prompt["id"],
    }
    assert http.post(f"{mock}/_mock/phones/{phone}/messages", json=tap).status_code == 201
    praise = wait_for(lambda: replies()[count:], what="the reply to Done")[0]
    assert "easier" in praise["text"]
    jobs = http.get(f"{delivery}/conversation/participants/{pid}/jobs").json()["result"]
    assert [j["kind"] for j in jobs] == ["daily_prompt"]
    say("I had my shoes by the door")

    # The next morning the participant writes before the prompt (WhatsApp lets a business
    # write freely only within 24 hours of the person's last message), then leaves the
    # prompt unanswered: five hours later comes the reminder.
    http.post(f"{delivery}/dev/clock", json={"advance": "23h"})
    say("Good morning!")
    before = len(replies())
    http.post(f"{delivery}/dev/clock", json={"advance": "1h"})
    wait_for(lambda: len(replies()) == before + 1, what="the second prompt")
    http.post(f"{delivery}/dev/clock", json={"advance": "5h"})
    reminder = wait_for(lambda: replies()[before + 1 :], what="the reminder")[0]
    assert "checking in" in reminder["text"]
    conversation = http.get(f"{stack.url('agent')}/conversations/{pid}").json()
    assert conversation["state"] == "FEEDBACK"
    assert conversation["profile"]["success_count"] == 1
    assert conversation["profile"]["last_motivator"] == "I had my shoes by the door"
    assert conversation["profile"]["total_prompts"] == 2
