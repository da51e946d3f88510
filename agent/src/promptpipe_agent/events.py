"""Time events delivery calls back with: the daily habit prompt, the reminder after five
hours of silence, the automatic switch to FEEDBACK, delayed state transitions, and the
check-ins after a prompt given in the chat (feedback.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from promptpipe_agent import feedback, intensity
from promptpipe_agent.coach import DONE, FEEDBACK, INTAKE, NEXT_TIME, UnknownEvent
from promptpipe_agent.tools import (
    PAUSE_ENDS,
    ProfileIncomplete,
    TurnContext,
    resume_coaching,
    write_habit_prompt,
)

# The intensity question once came as its own event a minute after the day's first prompt;
# it now ends the feedback exchange (graph.py). Events of that kind already scheduled at
# delivery still come due, and an unknown kind would be refused (422): they say nothing.
RETIRED_INTENSITY_CHECK = "intensity_check"

OPENERS = ["Time for your habit!", "Here's today's nudge.", "A quick habit moment."]
REMINDERS = [
    "Just checking in: did you get a chance to try your habit today?",
    "Hi! Just checking in on today's habit. Did it happen?",
]
HOW_DID_IT_GO = [
    "How did today's habit go?",
    "Checking how it went: did you give your habit a try?",
]


# The approved template a daily prompt falls back to when the participant has been silent
# for more than 24 hours (WhatsApp then refuses free-form text): "Hi {{1}}, your daily
# habit is waiting: {{2}}. Reply to let me know how it goes."
PROMPT_TEMPLATE = "daily_prompt_reminder"


@dataclass
class Said:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    template: dict[str, Any] | None = None


@dataclass
class Timing:
    reminder_seconds: float = 5 * 3600
    auto_feedback_seconds: float = 5 * 60
    feedback_initial_seconds: float = 15 * 60
    feedback_followup_seconds: float = 3 * 3600
    # The intensity check starts with this daily prompt: the participant has had a couple before it.
    intensity_from_prompt: int = 3


def _pick(options: list[str], *seed: object) -> str:
    digest = hashlib.sha256("|".join(map(str, seed)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


async def handle(
    turn: TurnContext, kind: str, event_id: str, payload: dict[str, Any], timing: Timing
) -> Said:
    if kind == "daily_prompt":
        return await daily_prompt(turn, event_id, timing)
    if kind == "reminder":
        return reminder(turn, payload)
    if kind == "auto_feedback":
        return auto_feedback(turn, payload)
    if kind == "state_transition":
        return state_transition(turn, payload)
    if kind == RETIRED_INTENSITY_CHECK:
        return Said()
    if kind == PAUSE_ENDS:
        return await pause_ends(turn, payload)
    if kind == feedback.INITIAL:
        text = await feedback.on_initial(turn, payload, timing.feedback_followup_seconds)
        return Said(text, [DONE, NEXT_TIME] if text else [])
    if kind == feedback.FOLLOWUP:
        text = feedback.on_followup(turn, payload)
        return Said(text, [DONE, NEXT_TIME] if text else [])
    raise UnknownEvent(f"Unknown event kind {kind!r}.")


async def daily_prompt(turn: TurnContext, event_id: str, timing: Timing) -> Said:
    """The personalized prompt with Done / Next time, a reminder in five hours, and (still
    in INTAKE) the automatic switch to FEEDBACK five minutes later."""
    pid, scheduler = turn.participant_id, turn.scheduler
    turn.profile["total_prompts"] = int(turn.profile.get("total_prompts", 0)) + 1
    template = None
    try:
        prompt = await write_habit_prompt(turn, "scheduled", "", use_tweak=True)
        text = f"{_pick(OPENERS, pid, turn.profile['total_prompts'])} {prompt}"
        template = prompt_template(turn.profile, prompt)
        turn.tool_calls.append(
            {
                "name": "generate_habit_prompt",
                "args": {"delivery_mode": "scheduled"},
                "result": prompt,
            }
        )
    except ProfileIncomplete:
        text = "Time for your one-minute habit! Did you give it a try today?"
    old = turn.flow.get("pending_prompt") or {}
    for key in ("reminder_event_id", "auto_feedback_event_id"):
        if old.get(key):  # an older prompt's timers must not speak for this one
            await scheduler.cancel_event(pid, old[key])
    # Nor a chat prompt's feedback timers: this prompt's reminder is the one follow-up now.
    await feedback.stop(turn, "superseded")
    reminder_job = await scheduler.schedule_event(
        pid,
        "reminder",
        timing.reminder_seconds,
        dedupe_key=f"reminder:{event_id}",
        payload={"prompt_event_id": event_id},
    )
    pending: dict[str, Any] = {
        "event_id": event_id,
        "sent_at": turn.now.isoformat(),
        "reminder_event_id": reminder_job["id"],
    }
    if turn.sub_state == INTAKE:
        switch = await scheduler.schedule_event(
            pid,
            "auto_feedback",
            timing.auto_feedback_seconds,
            dedupe_key=f"auto_feedback:{event_id}",
            payload={"prompt_event_id": event_id},
        )
        pending["auto_feedback_event_id"] = switch["id"]
    # The day's feedback exchange may end with the intensity question (graph.py).
    turn.flow["last_prompt_day"] = local_day(turn).isoformat()
    turn.flow["intensity_check"] = None  # a new prompt closes yesterday's question
    turn.flow["pending_prompt"] = pending
    turn.flow["last_prompt_sent_at"] = turn.now.isoformat()
    return Said(text, [DONE, NEXT_TIME], template)


def local_day(turn: TurnContext) -> date:
    """The participant's calendar day (their timezone as delivery knows it, else UTC)."""
    return intensity.local_day(turn.now, turn.flow.get("timezone"))


def prompt_template(profile: dict[str, Any], prompt: str) -> dict[str, Any]:
    """The daily prompt as its template: the prompt without its closing question, which
    the template's own last sentence replaces."""
    sentences = prompt.rstrip().split(". ")
    if len(sentences) > 1 and sentences[-1].endswith("?"):
        sentences = sentences[:-1]
    habit = ". ".join(sentences).rstrip(".!? ")
    name = str(profile.get("name") or "there")
    return {"name": PROMPT_TEMPLATE, "parameters": [name, habit]}


def _is_current(turn: TurnContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The pending prompt this event was set for; None when it was answered or replaced
    (PromptPipe's stale-fire guard)."""
    pending = turn.flow.get("pending_prompt")
    expected = payload.get("prompt_event_id")
    if not pending or (expected and pending.get("event_id") != expected):
        return None
    return dict(pending)


def reminder(turn: TurnContext, payload: dict[str, Any]) -> Said:
    if _is_current(turn, payload) is None:
        return Said()
    turn.flow["pending_prompt"] = None
    turn.flow["reminder_sent_at"] = turn.now.isoformat()
    return Said(_pick(REMINDERS, turn.participant_id, turn.now.date()), [DONE, NEXT_TIME])


def auto_feedback(turn: TurnContext, payload: dict[str, Any]) -> Said:
    """PromptPipe switched silently; the participant is asked instead, so the next answer
    lands in FEEDBACK with a question to answer."""
    pending = _is_current(turn, payload)
    if pending is None or turn.sub_state == FEEDBACK:
        return Said()
    pending.pop("auto_feedback_event_id", None)
    turn.flow["pending_prompt"] = pending
    turn.sub_state = FEEDBACK
    return Said(_pick(HOW_DID_IT_GO, turn.participant_id, turn.now.date()), [DONE, NEXT_TIME])


async def pause_ends(turn: TurnContext, payload: dict[str, Any]) -> Said:
    """The days of a pause are over: the daily nudge comes back. A pause already ended (by
    "resume") or replaced by a newer one says nothing."""
    paused = turn.flow.get("paused") or {}
    if not paused or paused.get("pause_id") != payload.get("pause_id"):
        return Said()
    said = await resume_coaching(turn, pause_over=True)
    turn.tool_calls.append({"name": "pause_coaching", "args": {"action": "resume"}, "result": said})
    result = json.loads(said)
    if not result.get("success"):
        return Said("Welcome back! Your break is over. What time would you like your daily nudge?")
    return Said(
        f"Welcome back! Your break is over, so your daily nudge is on again at "
        f"{result['prompt_time']}. Write 'pause' whenever you need another one."
    )


def state_transition(turn: TurnContext, payload: dict[str, Any]) -> Said:
    target = payload.get("target_state")
    turn.flow.pop("transition_event_id", None)
    if target not in (INTAKE, FEEDBACK) or target == turn.sub_state:
        return Said()
    turn.sub_state = target
    if target == FEEDBACK:
        return Said(_pick(HOW_DID_IT_GO, turn.participant_id, "t"), [DONE, NEXT_TIME])
    return Said("Let's set up your next habit. What would you like it to be about?")
