"""The feedback timers of a habit prompt given in the chat (facts §10.5), through the API: the
15-minute question and the 3-hour last check-in are asked of delivery with their dedupe
keys, any reply cancels what is pending, a stale fire says nothing, and a daily prompt
takes over from them."""

from __future__ import annotations

from typing import Any

import httpx
from test_events import event, post


def say(pid: str, text: str, message_id: str) -> dict[str, str]:
    return {
        "participant_id": pid,
        "message": text,
        "phone_number": "+15551234567",
        "message_id": message_id,
    }


def of_kind(delivery: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in delivery.events.values() if e["kind"] == kind]


async def try_now(client: httpx.AsyncClient, pid: str) -> dict[str, Any]:
    await post(client, "/process-message", say(pid, "Hello!", f"{pid}.1"))
    return await post(client, "/process-message", say(pid, "Try now", f"{pid}.2"))


async def test_an_unanswered_chat_prompt_gets_a_question_then_a_last_check_in(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    started = await try_now(client, "p_f1")
    assert "take 50 steps" in started["response"]
    [timeout] = of_kind(delivery, "feedback_timeout")
    assert timeout["delay_seconds"] == 15 * 60
    assert timeout["dedupe_key"] == "feedback_timeout:p_f1.2"
    assert timeout["payload"] == {"prompt_id": "p_f1.2"}

    asked = await post(
        client,
        "/process-event",
        event("p_f1", "feedback_timeout", timeout["id"], **timeout["payload"]),
    )
    assert "habit suggestion work" in asked["response"]
    assert [b["title"] for b in asked["buttons"]] == ["Done", "Next time"]
    [followup] = of_kind(delivery, "feedback_followup")
    assert followup["delay_seconds"] == 3 * 3600
    assert followup["dedupe_key"] == "feedback_followup:p_f1.2"

    last = await post(
        client,
        "/process-event",
        event("p_f1", "feedback_followup", followup["id"], **followup["payload"]),
    )
    assert "check-in" in last["response"] and last["buttons"]
    # Nothing more for this prompt: a repeated or late timer is silent.
    again = await post(
        client, "/process-event", event("p_f1", "feedback_timeout", "late", **timeout["payload"])
    )
    assert again["response"] == "" and len(of_kind(delivery, "feedback_followup")) == 1


async def test_a_reply_cancels_the_timer_and_a_late_fire_says_nothing(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await try_now(client, "p_f2")
    [timeout] = of_kind(delivery, "feedback_timeout")
    done = await post(client, "/process-message", say("p_f2", "Done", "p_f2.3"))
    assert "?" in done["response"]
    assert delivery.canceled == [timeout["id"]]
    late = await post(
        client,
        "/process-event",
        event("p_f2", "feedback_timeout", timeout["id"], **timeout["payload"]),
    )
    assert late["response"] == "" and not of_kind(delivery, "feedback_followup")
    profile = (await client.get("/conversations/p_f2")).json()["profile"]
    assert profile["success_count"] == 1  # counted once


async def test_an_answer_to_the_question_cancels_the_last_check_in(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await try_now(client, "p_f3")
    [timeout] = of_kind(delivery, "feedback_timeout")
    await post(
        client,
        "/process-event",
        event("p_f3", "feedback_timeout", timeout["id"], **timeout["payload"]),
    )
    [followup] = of_kind(delivery, "feedback_followup")
    await post(client, "/process-message", say("p_f3", "Done", "p_f3.3"))
    assert delivery.canceled == [followup["id"]]
    stale = await post(
        client,
        "/process-event",
        event("p_f3", "feedback_followup", followup["id"], **followup["payload"]),
    )
    assert stale["response"] == ""
    profile = (await client.get("/conversations/p_f3")).json()["profile"]
    assert profile["success_count"] == 1


async def test_a_daily_prompt_takes_over_from_the_chat_prompts_timers(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await try_now(client, "p_f4")
    [timeout] = of_kind(delivery, "feedback_timeout")
    await post(client, "/process-event", event("p_f4", "daily_prompt", "d_f4"))
    assert timeout["id"] in delivery.canceled
    stale = await post(
        client,
        "/process-event",
        event("p_f4", "feedback_timeout", timeout["id"], **timeout["payload"]),
    )
    assert stale["response"] == ""
    # The daily prompt keeps its single follow-up, the reminder.
    assert [e["kind"] for e in delivery.events.values()] == ["feedback_timeout", "reminder"]


async def test_no_chat_prompt_no_feedback_timer(client: httpx.AsyncClient, delivery: Any) -> None:
    answers = ["Hello!", "personalize", "moving more", "more energy", "my coffee", "8am", "no"]
    for n, text in enumerate(answers):
        await post(client, "/process-message", say("p_f5", text, f"p_f5.{n}"))
    plan = await post(client, "/process-message", say("p_f5", "no", "p_f5.no"))
    assert "tomorrow" in plan["response"]
    assert not delivery.events


async def test_words_answering_the_check_in_are_understood(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await try_now(client, "p_f6")
    [timeout] = of_kind(delivery, "feedback_timeout")
    await post(
        client,
        "/process-event",
        event("p_f6", "feedback_timeout", timeout["id"], **timeout["payload"]),
    )
    well = await post(client, "/process-message", say("p_f6", "It went well!", "p_f6.3"))
    assert "helped" in well["response"] or "easier" in well["response"]  # what made it work
    await try_now(client, "p_f7")
    [timeout] = of_kind(delivery, "feedback_timeout")[1:]
    await post(
        client,
        "/process-event",
        event("p_f7", "feedback_timeout", timeout["id"], **timeout["payload"]),
    )
    hard = await post(client, "/process-message", say("p_f7", "Too busy, it was hard", "p_f7.3"))
    # The reason came with the answer: no "what got in the way?", a tweak at once.
    assert "tweak for next time" in hard["response"] and "30-second" in hard["response"]
