"""The four tools on their own: profile merge and tone rules, the scheduler against
delivery's API (faked at the edge), the prompt writer's preconditions, transitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from promptpipe_agent.delivery import DeliveryScheduler
from promptpipe_agent.offline_model import OfflineChatModel
from promptpipe_agent.profile import merge
from promptpipe_agent.tools import (
    ProfileIncomplete,
    TurnContext,
    coach_tools,
    write_habit_prompt,
)

NOW = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)


def test_merge_changes_only_non_empty_different_fields() -> None:
    profile, changed = merge(
        {"habit_domain": "sleep"}, {"habit_domain": "", "prompt_anchor": "x"}, NOW
    )
    assert profile["habit_domain"] == "sleep" and changed == ["prompt_anchor"]
    same, changed = merge(profile, {"prompt_anchor": "x"}, NOW)
    assert changed == [] and same == profile
    aliased, changed = merge(profile, {"last_blocker": "rain"}, NOW)
    assert aliased["last_barrier"] == "rain" and changed == ["last_barrier"]


def test_tone_is_whitelisted_explicit_at_once_implicit_gradually() -> None:
    profile, changed = merge(
        {}, {"tone_tags": ["concise", "shouty"], "tone_update_source": "explicit"}, NOW
    )
    assert profile["tone"]["tone_tags"] == ["concise"] and changed == ["tone"]
    # Asking for the opposite turns the first off.
    profile, _ = merge(profile, {"tone_tags": ["detailed"], "tone_update_source": "explicit"}, NOW)
    assert profile["tone"]["tone_tags"] == ["detailed"]
    # One implicit hint moves a score a little, and not again within three minutes.
    hinted, changed = merge(profile, {"tone_tags": ["casual"]}, NOW + timedelta(minutes=5))
    assert "casual" not in hinted["tone"]["tone_tags"]
    assert 0 < hinted["tone"]["tone_scores"]["casual"] < 0.7
    _, changed = merge(hinted, {"tone_tags": ["casual"]}, NOW + timedelta(minutes=6))
    assert changed == []


class Delivery:
    """delivery's schedules and events API at the edge."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "GET":
            jobs = [j for j in self.jobs.values() if j["type"] == "schedule"]
            return httpx.Response(200, json={"status": "ok", "result": jobs})
        if request.method == "DELETE":
            found = self.jobs.pop(parts[4], None)
            return httpx.Response(200 if found else 404, json={"status": "ok"})
        body = json.loads(request.content)
        self.sent.append(body)
        if body.get("local_time") == "25:00":
            return httpx.Response(400, json={"status": "error", "message": "bad time"})
        kind = "schedule" if parts[3] == "schedules" else "event"
        job = {"id": f"job{len(self.jobs) + 1}", "type": kind, "timezone": "Asia/Tokyo", **body}
        self.jobs[job["id"]] = job
        return httpx.Response(201, json={"status": "ok", "result": job})


@pytest.fixture
def delivery() -> Delivery:
    return Delivery()


@pytest.fixture
def turn(delivery: Delivery) -> TurnContext:
    scheduler = DeliveryScheduler("http://delivery", transport=httpx.MockTransport(delivery.handle))
    return TurnContext(
        participant_id="p_t",
        phone_number="+15551234567",
        now=NOW,
        turn_key="wamid.t",
        sub_state="INTAKE",
        profile={},
        flow={},
        scheduler=scheduler,
        writer=OfflineChatModel(),
    )


async def call(turn: TurnContext, name: str, **args: Any) -> str:
    tool = next(t for t in coach_tools() if t.name == name)
    return str(await tool.ainvoke(args, config={"configurable": {"turn": turn}}))


async def test_scheduler_creates_in_the_participants_zone_with_the_prep_offset(
    turn: TurnContext, delivery: Delivery
) -> None:
    result = json.loads(await call(turn, "scheduler", action="create", fixed_time="07:30"))
    assert result["success"] and result["prompt_time"] == "07:20"
    assert result["timezone"] == "Asia/Tokyo"  # delivery filled in the participant's
    [job] = delivery.jobs.values()
    assert (job["kind"], job["local_time"]) == ("daily_prompt", "07:20")
    assert "timezone" not in delivery.sent[0]  # none given: delivery uses the participant's
    # A new time replaces the old schedule; the same time again creates nothing.
    await call(turn, "scheduler", action="create", fixed_time="20:00")
    await call(turn, "scheduler", action="create", fixed_time="20:00")
    assert [j["local_time"] for j in delivery.jobs.values()] == ["19:50"]
    listed = json.loads(await call(turn, "scheduler", action="list"))
    assert [s["target_time"] for s in listed["schedules"]] == ["20:00"]
    assert turn.flow["schedules"][0]["prompt_time"] == "19:50"


async def test_scheduler_random_window_and_mistakes(turn: TurnContext, delivery: Delivery) -> None:
    drawn = json.loads(
        await call(
            turn,
            "scheduler",
            action="create",
            type="random",
            random_start_time="18:00",
            random_end_time="20:00",
        )
    )
    assert "18:00" <= drawn["target_time"] < "20:00"
    bad = json.loads(await call(turn, "scheduler", action="create", fixed_time="7.30"))
    assert bad == {
        "success": False,
        "message": "fixed_time must be HH:MM in 24-hour time, e.g. 07:30.",
    }
    hint = json.loads(await call(turn, "scheduler", action="delete", schedule_id="07:30"))
    assert "not a time" in hint["message"]
    gone = json.loads(await call(turn, "scheduler", action="delete", schedule_id="job99"))
    assert gone["success"] is False


async def test_habit_prompt_needs_anchor_and_time(turn: TurnContext) -> None:
    with pytest.raises(ProfileIncomplete, match="prompt_anchor and preferred_time"):
        await write_habit_prompt(turn, "immediate", "")
    turn.profile = {
        "prompt_anchor": "after lunch",
        "preferred_time": "12:30",
        "habit_domain": "walking",
    }
    text = await call(turn, "generate_habit_prompt", delivery_mode="immediate")
    assert text.startswith("Try it now: stand up and take 50 steps")  # now, not after lunch
    assert turn.flow["last_habit_prompt"] == text
    daily = await call(turn, "generate_habit_prompt", delivery_mode="scheduled")
    assert daily.startswith("After lunch,") and "take 50 steps" in daily


async def test_transition_now_or_later(turn: TurnContext, delivery: Delivery) -> None:
    later = await call(turn, "transition_state", target_state="FEEDBACK", delay_minutes=30.9)
    assert later == "Conversation will move to FEEDBACK in 30 minute(s)."
    [event] = delivery.jobs.values()
    assert event["kind"] == "state_transition" and event["delay_seconds"] == 1800
    assert event["payload"]["target_state"] == "FEEDBACK" and turn.sub_state == "INTAKE"
    now = await call(turn, "transition_state", target_state="FEEDBACK")
    assert now == "Conversation state transitioned to FEEDBACK" and turn.sub_state == "FEEDBACK"
    assert delivery.jobs == {}  # the delayed one was canceled: a newer decision replaces it
