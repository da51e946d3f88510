"""The coaching flow end to end on the offline model: intake (try-now or personalize) sets
up the daily prompt at delivery; a clock jump brings the prompt with buttons; "Done"
cancels the reminder; an ignored prompt gets its reminder five hours later; feedback
updates the profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from promptpipe_agent.offline_model import QUESTIONS
from stack_api import agent_conversation, chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e


def test_try_now_path_ends_with_a_daily_schedule_at_delivery(
    stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = unique_phone()
    pid = enroll(http, stack, phone)["id"]
    send(http, stack, phone, "Hi!")
    greeting = wait_for(lambda: outbound(chat(http, stack, phone)), what="the greeting")[0]
    assert "habit coach" in greeting["text"] and "try it" in greeting["text"].lower()
    send(http, stack, phone, "Try now")
    _, started = wait_for(
        lambda: len(outbound(chat(http, stack, phone))) == 2 and outbound(chat(http, stack, phone)),
        what="the try-now reply",
    )
    assert "take 50 steps" in started["text"] and "11:05" in started["text"]
    delivery = stack.url("delivery")
    [schedule] = http.get(f"{delivery}/conversation/participants/{pid}/schedules").json()["result"]
    assert (schedule["kind"], schedule["local_time"], schedule["timezone"]) == (
        "daily_prompt",
        "11:05",
        "Europe/London",
    )
    conversation = agent_conversation(http, stack, pid)
    assert conversation["state"] == "FEEDBACK"
    assert conversation["profile"]["prompt_anchor"] == "when my phone buzzes"
    tools = [c["name"] for c in conversation["last_turn"]["tool_calls"]]
    assert tools == ["save_user_profile", "scheduler", "transition_state", "generate_habit_prompt"]


def test_personalize_path_prompt_done_reminder_and_feedback(
    clock_stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = clock_stack
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

    for answer in ["Hello!", "personalize", "moving more", "more energy", "my morning coffee"]:
        say(answer)
    say("7:30am")
    say("No, that's all")
    plan = say("no")  # not now: the habit starts with tomorrow's prompt
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
    prompt = wait_for(lambda: replies()[8:], what="the daily prompt")[0]
    assert "after your morning coffee" in prompt["text"].lower()
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
    assert any(q in praise["text"] for q in QUESTIONS["motivator"])
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
    assert [b["title"] for b in reminder["interactive"]["buttons"]] == ["Done", "Next time"]

    # "Next time": the coach asks what got in the way and keeps it, with a tweak.
    say("Next time")
    tweak = say("I was rushing to work")
    assert "tweak" in tweak["text"]
    conversation = agent_conversation(http, stack, pid)
    assert conversation["profile"]["last_barrier"] == "I was rushing to work"
    assert "30-second" in conversation["profile"]["last_tweak"]
    assert conversation["state"] == "FEEDBACK"
    assert conversation["profile"]["success_count"] == 1
    assert conversation["profile"]["last_motivator"] == "I had my shoes by the door"
    assert conversation["profile"]["total_prompts"] == 2


def test_a_prompt_after_a_silent_day_arrives_as_its_template(
    clock_stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    # WhatsApp refuses free-form text 24 hours after the participant last wrote (131047);
    # the daily prompt then reaches them as the approved prompt template, habit included,
    # not as the generic "it's been a while" re-engagement.
    stack = clock_stack
    phone = unique_phone()
    enroll(http, stack, phone)
    send(http, stack, phone, "Hi!")
    wait_for(lambda: outbound(chat(http, stack, phone)), what="the greeting")
    send(http, stack, phone, "Try now")
    wait_for(lambda: len(outbound(chat(http, stack, phone))) == 2, what="the try-now reply")
    moved = http.post(f"{stack.url('delivery')}/dev/clock", json={"advance": "48h"})
    assert moved.status_code == 200, moved.text

    def prompt_templates() -> list[dict]:
        return [
            m
            for m in outbound(chat(http, stack, phone))
            if m["type"] == "template" and m["template"]["name"] == "daily_prompt_reminder"
        ]

    [template] = wait_for(prompt_templates, what="the prompt as a template")
    assert "take 50 steps" in template["text"] and template["text"].startswith("Hi there")
    refused = [m for m in outbound(chat(http, stack, phone)) if m["status"] == "failed"]
    assert refused and all(m["errors"][0]["code"] == 131047 for m in refused)
