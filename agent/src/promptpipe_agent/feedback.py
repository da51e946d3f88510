"""Feedback collection after a habit prompt given in the chat (try now): if the participant
says nothing, one question after the initial timeout (15 min) and, still nothing, a last
check-in after the follow-up delay (3 h); any message of theirs, or a newer prompt, ends it.
The scheduled daily prompt has its own single follow-up (the reminder, events.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from promptpipe_agent.tools import TurnContext

INITIAL = "feedback_timeout"
FOLLOWUP = "feedback_followup"
WAITING = ("waiting_initial", "waiting_followup")

HOW_DID_IT_WORK = [
    "How did the habit suggestion work for you?",
    "Quick check: how did the habit suggestion work for you?",
]
LAST_CHECK_IN = [
    "Last check-in on today's habit: did you get to try it? A tap or a word is plenty.",
    "One last check-in for today: did the habit happen? A tap or a word is plenty.",
]


def _pick(options: list[str], *seed: object) -> str:
    digest = hashlib.sha256("|".join(map(str, seed)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


async def start(turn: TurnContext, initial_seconds: float) -> None:
    """The prompt written in this turn is in the chat: its feedback timer starts (an older
    chat prompt's pending timer is canceled first). The dedupe key is the turn's, so a
    retried turn asks delivery for the same event."""
    await stop(turn, "superseded")
    job = await turn.scheduler.schedule_event(
        turn.participant_id,
        INITIAL,
        initial_seconds,
        dedupe_key=f"{INITIAL}:{turn.turn_key}",
        payload={"prompt_id": turn.turn_key},
    )
    turn.flow["feedback_collection"] = {
        "prompt_id": turn.turn_key,
        "status": "waiting_initial",
        "event_id": job["id"],
        "prompt_sent_at": turn.now.isoformat(),
    }


async def stop(turn: TurnContext, status: str) -> bool:
    """Ends a waiting collection (`answered` by a message, `superseded` by a newer prompt)
    and cancels its pending timer. True if one was waiting."""
    collection = turn.flow.get("feedback_collection")
    if not collection or collection.get("status") not in WAITING:
        return False
    await turn.scheduler.cancel_event(turn.participant_id, collection["event_id"])
    turn.flow["feedback_collection"] = {
        **collection,
        "status": status,
        "ended_at": turn.now.isoformat(),
    }
    return True


def _current(turn: TurnContext, payload: dict[str, Any], status: str) -> dict[str, Any] | None:
    """The collection this timer was set for, if it is still at that step; None when it was
    answered, superseded or already past it (the stale-fire guard)."""
    collection = turn.flow.get("feedback_collection") or {}
    if collection.get("status") != status or collection.get("prompt_id") != payload.get(
        "prompt_id"
    ):
        return None
    return dict(collection)


async def on_initial(turn: TurnContext, payload: dict[str, Any], followup_seconds: float) -> str:
    """No answer since the chat prompt: ask how it worked, and set the last check-in."""
    collection = _current(turn, payload, "waiting_initial")
    if collection is None:
        return ""
    job = await turn.scheduler.schedule_event(
        turn.participant_id,
        FOLLOWUP,
        followup_seconds,
        dedupe_key=f"{FOLLOWUP}:{collection['prompt_id']}",
        payload={"prompt_id": collection["prompt_id"]},
    )
    turn.flow["feedback_collection"] = {
        **collection,
        "status": "waiting_followup",
        "event_id": job["id"],
        "asked_at": turn.now.isoformat(),
    }
    return _pick(HOW_DID_IT_WORK, turn.participant_id, collection["prompt_id"])


def on_followup(turn: TurnContext, payload: dict[str, Any]) -> str:
    """Still no answer: the last check-in; nothing more follows for this prompt."""
    collection = _current(turn, payload, "waiting_followup")
    if collection is None:
        return ""
    turn.flow["feedback_collection"] = {
        **collection,
        "status": "followup_sent",
        "event_id": None,
        "followup_sent_at": turn.now.isoformat(),
    }
    return _pick(LAST_CHECK_IN, turn.participant_id, collection["prompt_id"])
