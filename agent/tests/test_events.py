"""Time events through the API: the stale-fire guard of the reminder, the automatic switch to
FEEDBACK (no longer silent, and canceled by a reply), delayed transitions, and feedback
that moves the daily nudge or starts a new habit."""

from __future__ import annotations

from typing import Any

import httpx


def say(pid: str, text: str) -> dict[str, str]:
    return {"participant_id": pid, "message": text, "phone_number": "+15551234567"}


def event(pid: str, kind: str, event_id: str, **payload: Any) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "phone_number": "+15551234567",
        "event_id": event_id,
        "kind": kind,
        "payload": payload,
    }


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(path, json=body)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_prompt_in_intake_switches_to_feedback_after_five_minutes(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await post(client, "/process-message", say("p_e1", "Hello!"))
    prompt = await post(client, "/process-event", event("p_e1", "daily_prompt", "d1"))
    assert "habit" in prompt["response"] and prompt["state"] == "INTAKE"  # profile incomplete
    kinds = {e["kind"]: e for e in delivery.events.values()}
    assert kinds["auto_feedback"]["delay_seconds"] == 300
    assert kinds["auto_feedback"]["payload"] == {"prompt_event_id": "d1"}
    switched = await post(
        client, "/process-event", event("p_e1", "auto_feedback", "a1", prompt_event_id="d1")
    )
    assert switched["state"] == "FEEDBACK" and switched["buttons"]
    assert "?" in switched["response"]  # PromptPipe switched silently


async def test_a_reply_cancels_the_reminder_and_the_switch(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await post(client, "/process-message", say("p_e2", "Hello!"))
    await post(client, "/process-event", event("p_e2", "daily_prompt", "d2"))
    answer = await post(client, "/process-message", say("p_e2", "Done"))
    assert answer["state"] == "FEEDBACK"  # an answer to the prompt is feedback on it
    assert sorted(delivery.canceled) == sorted(delivery.events)
    late = await post(
        client, "/process-event", event("p_e2", "auto_feedback", "a2", prompt_event_id="d2")
    )
    assert late["response"] == ""
    profile = (await client.get("/conversations/p_e2")).json()["profile"]
    assert profile["success_count"] == 1 and profile["total_prompts"] == 1


async def test_a_reminder_for_an_older_prompt_says_nothing(client: httpx.AsyncClient) -> None:
    await post(client, "/process-message", say("p_e3", "Hello!"))
    await post(client, "/process-event", event("p_e3", "daily_prompt", "d3"))
    await post(client, "/process-event", event("p_e3", "daily_prompt", "d4"))
    stale = await post(
        client, "/process-event", event("p_e3", "reminder", "r3", prompt_event_id="d3")
    )
    assert stale["response"] == ""
    current = await post(
        client, "/process-event", event("p_e3", "reminder", "r4", prompt_event_id="d4")
    )
    assert "checking in" in current["response"]


async def test_delayed_transition_fires_once(client: httpx.AsyncClient) -> None:
    await post(client, "/process-message", say("p_e4", "Hello!"))
    moved = await post(
        client, "/process-event", event("p_e4", "state_transition", "s1", target_state="FEEDBACK")
    )
    assert moved["state"] == "FEEDBACK" and moved["buttons"]
    again = await post(
        client, "/process-event", event("p_e4", "state_transition", "s2", target_state="FEEDBACK")
    )
    assert again["response"] == ""  # already there: nothing to say


async def test_feedback_moves_the_nudge_and_starts_a_new_habit(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    for text in ["Hello!", "try now"]:
        await post(client, "/process-message", say("p_e5", text))
    moved = await post(client, "/process-message", say("p_e5", "Could you move it to 6:30pm?"))
    assert "18:20" in moved["response"]
    assert [s["local_time"] for s in delivery.schedules] == ["18:20"]
    view = (await client.get("/conversations/p_e5")).json()
    assert view["profile"]["preferred_time"] == "18:30"
    fresh = await post(client, "/process-message", say("p_e5", "I'd like a new habit"))
    assert fresh["state"] == "INTAKE" and "habit" in fresh["response"]
    named = await post(client, "/process-message", say("p_e5", "sleeping better"))
    assert named["state"] == "INTAKE"
    view = (await client.get("/conversations/p_e5")).json()
    assert view["profile"]["habit_domain"] == "sleeping better"


async def test_an_explicit_style_request_is_saved_as_tone(client: httpx.AsyncClient) -> None:
    await post(client, "/process-message", say("p_e6", "Hello!"))
    await post(client, "/process-message", say("p_e6", "personalize"))
    asked = await post(client, "/process-message", say("p_e6", "please keep it short, no emojis"))
    assert "short" in asked["response"] and asked["response"].endswith("?")  # asks again
    view = (await client.get("/conversations/p_e6")).json()
    assert view["profile"]["tone"]["tone_tags"] == ["concise", "no_emojis"]
    assert view["profile"]["tone"]["tone_update_source"] == "explicit"


async def test_a_written_prompt_names_its_template_for_a_closed_window(
    client: httpx.AsyncClient,
) -> None:
    await post(client, "/process-message", say("p_t0", "Hello!"))
    unwritten = await post(client, "/process-event", event("p_t0", "daily_prompt", "t0"))
    assert "template" not in unwritten  # no habit yet: delivery's generic template will do
    await post(client, "/process-message", say("p_t1", "Hello!"))
    await post(client, "/process-message", say("p_t1", "Try now"))
    prompt = await post(client, "/process-event", event("p_t1", "daily_prompt", "t1"))
    template = prompt["template"]
    assert template["name"] == "daily_prompt_reminder"
    name, habit = template["parameters"]
    assert name == "there" and habit in prompt["response"] and not habit.endswith("?")


async def test_a_concise_participant_gets_short_questions_and_the_flow_still_works(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    for text in ["Hello!", "personalize", "keep it short please"]:
        await post(client, "/process-message", say("p_c1", text))
    replies = []
    for text in ["moving more", "more energy", "my coffee", "7:30am", "no", "yes"]:
        replies.append((await post(client, "/process-message", say("p_c1", text)))["response"])
    assert replies[:3] == [
        "Why does it matter to you?",
        "What could it come right after?",
        "What time should I nudge you?",
    ]
    assert replies[3] == "07:30 it is. Anything else I should know?"
    assert replies[4].endswith("Try a one-minute version now?")
    assert replies[5].endswith("Daily nudge: 07:20.")
    view = (await client.get("/conversations/p_c1")).json()
    assert view["state"] == "FEEDBACK"
    assert view["profile"]["prompt_anchor"] == "my coffee"
    assert view["profile"]["preferred_time"] == "07:30"
    assert [s["prompt_time"] for s in view["schedules"]] == ["07:20"]


async def test_a_pause_of_some_days_ends_by_itself_and_resume_ends_it_sooner(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    for text in ["Hello!", "try now"]:
        await post(client, "/process-message", say("p_p1", text))
    paused = await post(client, "/process-message", say("p_p1", "pause for 3 days please"))
    assert "3 days" in paused["response"] and "resume" in paused["response"]
    assert not delivery.schedules  # no prompt comes during the pause
    [ends] = [e for e in delivery.events.values() if e["kind"] == "pause_ends"]
    assert ends["delay_seconds"] == 3 * 86400
    back = await post(
        client, "/process-event", event("p_p1", "pause_ends", "x1", **ends["payload"])
    )
    assert back["response"].startswith("Welcome back!") and "11:05" in back["response"]
    assert [s["local_time"] for s in delivery.schedules] == ["11:05"]
    # A second pause, ended early by the participant: its end, should it fire, says nothing.
    await post(client, "/process-message", say("p_p1", "can I take a break for a week?"))
    [_, ends] = [e for e in delivery.events.values() if e["kind"] == "pause_ends"]
    resumed = await post(client, "/process-message", say("p_p1", "resume"))
    assert "11:05" in resumed["response"] and ends["id"] in delivery.canceled
    late = await post(
        client, "/process-event", event("p_p1", "pause_ends", "x2", **ends["payload"])
    )
    assert late["response"] == ""
    assert [s["local_time"] for s in delivery.schedules] == ["11:05"]


async def test_stop_pauses_the_participant_at_delivery(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    for text in ["Hello!", "try now"]:
        await post(client, "/process-message", say("p_p2", text))
    bye = await post(client, "/process-message", say("p_p2", "stop"))
    assert "no more nudges or messages" in bye["response"]
    assert delivery.statuses == {"p_p2": "paused"}
    # Their schedule stays: delivery skips it while they are paused, and it comes back if
    # the study team switches them on again. Then their first message is welcomed back.
    assert [s["local_time"] for s in delivery.schedules] == ["11:05"]
    again = await post(client, "/process-message", say("p_p2", "hi, I'd like to start again"))
    assert again["response"].startswith(("Welcome back!", "Good to have you back!"))
