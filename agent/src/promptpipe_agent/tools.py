"""The coach's four tools (PromptPipe's names and parameters), run for real: they change the
turn's profile and sub-state and ask delivery for schedules and events."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from promptpipe_agent import intensity, prompts
from promptpipe_agent.coach import call_model
from promptpipe_agent.delivery import Scheduler, SchedulingRefused
from promptpipe_agent.profile import merge, pending_tweak
from promptpipe_agent.understanding import minus_minutes

INTAKE, FEEDBACK = "INTAKE", "FEEDBACK"
DAILY_PROMPT = "daily_prompt"
PAUSE_ENDS = "pause_ends"  # the one-shot event that ends a pause of some days
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class TurnContext:
    """What one turn may read and change; tools find it in the run's config."""

    participant_id: str
    phone_number: str
    now: datetime
    turn_key: str  # message or event id: makes delivery requests of a retried turn repeats
    sub_state: str
    profile: dict[str, Any]
    flow: dict[str, Any]
    scheduler: Scheduler
    writer: BaseChatModel
    prep_minutes: int = 10
    answering_prompt: bool = False  # this message answers a daily prompt
    chat_prompt: bool = False  # a habit prompt to send now was written in this turn
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    # Tools of one round run one at a time, in the model's order: they share this turn.
    tool_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def turn_of(config: RunnableConfig) -> TurnContext:
    turn: TurnContext = config["configurable"]["turn"]
    return turn


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# save_user_profile -------------------------------------------------------------------


class SaveUserProfileArgs(BaseModel):
    habit_domain: str | None = Field(None, description="Area of the habit, e.g. physical activity")
    prompt_anchor: str | None = Field(None, description="Everyday moment the habit follows")
    motivational_frame: str | None = Field(None, description="Why the habit matters to them")
    preferred_time: str | None = Field(None, description="Time of day for the daily nudge")
    additional_info: str | None = Field(None, description="Anything else worth knowing")
    last_successful_prompt: str | None = None
    last_barrier: str | None = Field(None, description="What got in the way last time")
    last_motivator: str | None = Field(None, description="What helped last time")
    last_tweak: str | None = Field(None, description="The small change agreed for next time")
    tone_tags: list[str] | None = Field(None, description="Tone preferences (whitelisted)")
    tone_update_source: Literal["explicit", "implicit"] | None = None
    tone_confidence: float | None = Field(None, ge=0, le=1)


async def save_user_profile(config: RunnableConfig, **changes: Any) -> str:
    """Save what you learned about the participant; a field changes only if the new value is
    non-empty and different."""
    turn = turn_of(config)
    turn.profile, changed = merge(turn.profile, changes, turn.now)
    snapshot = {k: v for k, v in turn.profile.items() if k not in ("tone",)}
    if not changed:
        return "NOOP: nothing new to save. " + _json(
            {"status": "noop", "profile_snapshot": snapshot}
        )
    return f"SUCCESS: profile saved ({len(changed)} field(s) updated: {', '.join(changed)}) " + (
        _json({"status": "success", "updated_fields": changed, "profile_snapshot": snapshot})
    )


# scheduler ---------------------------------------------------------------------------


class SchedulerArgs(BaseModel):
    action: Literal["create", "list", "delete"]
    type: Literal["fixed", "random"] = "fixed"
    fixed_time: str | None = Field(None, description="HH:MM, 24-hour, participant's local time")
    timezone: str | None = Field(None, description="IANA name; default: the participant's")
    random_start_time: str | None = Field(None, description="HH:MM, start of the window")
    random_end_time: str | None = Field(None, description="HH:MM, end of the window")
    schedule_id: str | None = Field(None, description="For delete")


def _failure(message: str) -> str:
    return _json({"success": False, "message": message})


def _random_time(participant_id: str, start: str, end: str) -> str:
    """A time in [start, end), drawn from a hash so a retried turn draws the same one."""
    first = int(start[:2]) * 60 + int(start[3:])
    span = int(end[:2]) * 60 + int(end[3:]) - first
    offset = int(hashlib.sha256(f"{participant_id}{start}{end}".encode()).hexdigest(), 16) % span
    minute = first + offset
    return f"{minute // 60:02d}:{minute % 60:02d}"


async def scheduler(
    config: RunnableConfig,
    action: str,
    type: str = "fixed",
    fixed_time: str | None = None,
    timezone: str | None = None,
    random_start_time: str | None = None,
    random_end_time: str | None = None,
    schedule_id: str | None = None,
) -> str:
    """Create, list or delete the participant's daily habit prompt. The prompt is sent a
    few minutes before the chosen time, in the participant's timezone; a new time replaces
    the old one."""
    turn = turn_of(config)
    pid = turn.participant_id
    try:
        if action == "list":
            jobs = await turn.scheduler.list_daily(pid)
            mine = [
                _registry_entry(j, turn.prep_minutes) for j in jobs if j["kind"] == DAILY_PROMPT
            ]
            turn.flow["schedules"] = mine
            return _json(
                {"success": True, "schedules": mine, "prep_time_minutes": turn.prep_minutes}
            )
        if action == "delete":
            if not schedule_id:
                return _failure("schedule_id is required to delete.")
            if HHMM.match(schedule_id):
                return _failure("schedule_id is an id from the list action, not a time.")
            if not await turn.scheduler.delete_daily(pid, schedule_id):
                return _failure(f"No pending schedule {schedule_id}.")
            turn.flow["schedules"] = [
                s for s in turn.flow.get("schedules", []) if s["id"] != schedule_id
            ]
            return _json({"success": True, "message": "Schedule deleted."})
        return await _create(turn, type, fixed_time, timezone, random_start_time, random_end_time)
    except SchedulingRefused as refused:
        return _failure(f"Delivery refused the request: {refused.message}.")


async def _create(
    turn: TurnContext,
    kind: str,
    fixed_time: str | None,
    timezone: str | None,
    start: str | None,
    end: str | None,
) -> str:
    if kind == "random":
        if not (start and end and HHMM.match(start) and HHMM.match(end)) or end <= start:
            return _failure("random needs random_start_time < random_end_time, both HH:MM.")
        target = _random_time(turn.participant_id, start, end)
    else:
        if not fixed_time or not HHMM.match(fixed_time):
            return _failure("fixed_time must be HH:MM in 24-hour time, e.g. 07:30.")
        target = fixed_time
    prompt_at = minus_minutes(target, turn.prep_minutes)
    pid = turn.participant_id
    existing = [j for j in await turn.scheduler.list_daily(pid) if j["kind"] == DAILY_PROMPT]
    same = [
        j
        for j in existing
        if j.get("local_time") == prompt_at and timezone in (None, j.get("timezone"))
    ]
    # Reusing an identical schedule keeps a retried turn from creating a second one.
    job = (
        same[0]
        if same
        else await turn.scheduler.create_daily(pid, DAILY_PROMPT, prompt_at, timezone)
    )
    # One daily prompt per participant: PromptPipe stacked a new timer on each create.
    for other in existing:
        if other["id"] != job["id"]:
            await turn.scheduler.delete_daily(pid, other["id"])
    entry = {**_registry_entry(job, turn.prep_minutes), "type": kind, "target_time": target}
    turn.flow["schedules"] = [entry]
    turn.flow["timezone"] = job.get("timezone")
    return _json(
        {
            "success": True,
            "schedule_id": job["id"],
            "target_time": target,
            "prompt_time": prompt_at,
            "timezone": job.get("timezone"),
            "message": f"Daily prompt at {prompt_at}, {turn.prep_minutes} minutes before "
            f"{target} ({job.get('timezone')}). Do not show the schedule id to the participant.",
        }
    )


def _registry_entry(job: dict[str, Any], prep_minutes: int) -> dict[str, Any]:
    local = str(job.get("local_time") or "")
    return {
        "id": job["id"],
        "type": "fixed",
        "prompt_time": local,
        "target_time": minus_minutes(local, -prep_minutes) if local else None,
        "timezone": job.get("timezone"),
        "next_run_at": job.get("next_run_at"),
    }


# generate_habit_prompt ---------------------------------------------------------------


class GenerateHabitPromptArgs(BaseModel):
    delivery_mode: Literal["immediate", "scheduled"]
    personalization_notes: str | None = None


async def generate_habit_prompt(
    config: RunnableConfig, delivery_mode: str, personalization_notes: str | None = None
) -> str:
    """Write the participant's one-line habit prompt from their profile (needs at least the
    anchor and the preferred time). Returns the text to send."""
    turn = turn_of(config)
    text = await write_habit_prompt(turn, delivery_mode, personalization_notes or "")
    if delivery_mode == "immediate":  # its feedback timer starts once the turn answers
        turn.chat_prompt = True
    return text


class ProfileIncomplete(Exception):
    """generate_habit_prompt without an anchor or a time: the model is told what is missing."""


async def write_habit_prompt(
    turn: TurnContext, delivery_mode: str, notes: str, *, use_tweak: bool = False
) -> str:
    """One habit prompt from the writer. `use_tweak` (the daily prompt event only): carry
    the pending tweak, once; a prompt the model asks for in the chat never uses it up."""
    missing = [f for f in ("prompt_anchor", "preferred_time") if not turn.profile.get(f)]
    if missing:
        raise ProfileIncomplete(
            f"Profile incomplete: ask for {' and '.join(missing)} and save it first."
        )
    tweak = pending_tweak(turn.profile) if use_tweak else None
    messages = [
        SystemMessage(prompts.WRITER_INSTRUCTIONS),
        HumanMessage(prompts.writer_request(turn.profile, delivery_mode, notes, tweak)),
    ]
    reply = await call_model(turn.writer, messages)
    text = str(reply.content).strip().strip("\"'“”").strip()
    if not text:
        raise ProfileIncomplete("The writer returned nothing; try again.")
    if tweak:  # used up: the next prompt is plain again, until a new barrier brings a tweak
        turn.profile["tweak_pending"] = False
    turn.flow["last_habit_prompt"] = text
    return text


# transition_state --------------------------------------------------------------------


class TransitionStateArgs(BaseModel):
    target_state: Literal["INTAKE", "FEEDBACK"]
    delay_minutes: float | None = Field(None, ge=0, description="Wait this long first")
    reason: str | None = None


async def transition_state(
    config: RunnableConfig,
    target_state: str,
    delay_minutes: float | None = None,
    reason: str | None = None,
) -> str:
    """Move the conversation to INTAKE or FEEDBACK, now or after delay_minutes."""
    turn = turn_of(config)
    pid = turn.participant_id
    pending = turn.flow.pop("transition_event_id", None)
    if pending:  # a newer decision replaces a delayed one
        await turn.scheduler.cancel_event(pid, pending)
    minutes = int(delay_minutes or 0)  # PromptPipe truncated fractions too
    if minutes > 0:
        try:
            event = await turn.scheduler.schedule_event(
                pid,
                "state_transition",
                minutes * 60,
                dedupe_key=f"state_transition:{turn.turn_key}",
                payload={"target_state": target_state, "reason": reason or ""},
            )
        except SchedulingRefused as refused:
            return _failure(f"Delivery refused the delayed transition: {refused.message}.")
        turn.flow["transition_event_id"] = event["id"]
        return f"Conversation will move to {target_state} in {minutes} minute(s)."
    turn.sub_state = target_state
    if target_state == FEEDBACK:
        await cancel_auto_feedback(turn)
    return f"Conversation state transitioned to {target_state}"


async def cancel_auto_feedback(turn: TurnContext) -> None:
    pending = turn.flow.get("pending_prompt") or {}
    event_id = pending.pop("auto_feedback_event_id", None)
    if event_id:
        await turn.scheduler.cancel_event(turn.participant_id, event_id)


# adjust_intensity --------------------------------------------------------------------


class AdjustIntensityArgs(BaseModel):
    direction: Literal["easier", "harder"]


async def adjust_intensity(config: RunnableConfig, direction: str) -> str:
    """Make the daily habit one size smaller ("easier") or bigger ("harder") when the
    participant asks: low is a 30-second version, normal about a minute, high a slightly
    bigger step. It applies from the next habit prompt."""
    turn = turn_of(config)
    today = intensity.local_day(turn.now, turn.flow.get("timezone"))
    old, new = intensity.apply(turn.profile, turn.flow, today, -1 if direction == "easier" else 1)
    return _json(
        {
            "success": True,
            "old_level": old,
            "new_level": new,
            "changed": old != new,
            "size": intensity.SIZES[new],
            "message": "Level changed; the next prompt is written at it."
            if old != new
            else f"Already at the {'smallest' if direction == 'easier' else 'biggest'} size.",
        }
    )


# pause_coaching ----------------------------------------------------------------------


class PauseCoachingArgs(BaseModel):
    action: Literal["pause", "resume", "stop"]
    days: int | None = Field(None, ge=1, le=90, description="pause: resume by itself after")
    reason: str | None = None


async def pause_coaching(
    config: RunnableConfig, action: str, days: int | None = None, reason: str | None = None
) -> str:
    """Honour a participant who wants a break or wants out. pause: no daily nudges until
    they write to resume (or for `days`, then they come back by themselves); resume: the
    daily nudge again at their time; stop: they want no more messages at all, so delivery
    pauses them (only the study team can switch them back on)."""
    turn = turn_of(config)
    try:
        if action == "stop":
            return await _stop(turn, reason)
        if action == "pause":
            return await _pause(turn, days)
        return await resume_coaching(turn)
    except SchedulingRefused as refused:
        return _failure(f"Delivery refused the request: {refused.message}.")


async def _cancel_follow_ups(turn: TurnContext) -> None:
    """No reminder or check-in about a prompt once the participant asked for quiet."""
    pid = turn.participant_id
    pending = turn.flow.get("pending_prompt") or {}
    for key in ("reminder_event_id", "auto_feedback_event_id"):
        if pending.get(key):
            await turn.scheduler.cancel_event(pid, pending[key])
    turn.flow["pending_prompt"] = None
    collection = turn.flow.get("feedback_collection") or {}
    if collection.get("status") in ("waiting_initial", "waiting_followup"):
        await turn.scheduler.cancel_event(pid, collection["event_id"])
        turn.flow["feedback_collection"] = {**collection, "status": "paused"}
    paused = turn.flow.get("paused") or {}
    if paused.get("event_id"):  # a newer decision replaces the end of an older pause
        await turn.scheduler.cancel_event(pid, paused["event_id"])


async def _pause(turn: TurnContext, days: int | None) -> str:
    """The daily schedule is deleted at delivery, so no prompt comes; the participant stays
    active there, so their "resume" still reaches the coach."""
    pid = turn.participant_id
    jobs = [j for j in await turn.scheduler.list_daily(pid) if j["kind"] == DAILY_PROMPT]
    known = (turn.flow.get("paused") or {}).get("target_time")
    target = known or next(
        (s.get("target_time") for s in turn.flow.get("schedules") or [] if s.get("target_time")),
        None,
    )
    await _cancel_follow_ups(turn)
    for job in jobs:
        await turn.scheduler.delete_daily(pid, job["id"])
        target = target or minus_minutes(str(job.get("local_time")), -turn.prep_minutes)
    paused: dict[str, Any] = {
        "since": turn.now.isoformat(),
        "target_time": target or turn.profile.get("preferred_time"),
        "days": days,
    }
    if days:
        event = await turn.scheduler.schedule_event(
            pid,
            PAUSE_ENDS,
            days * 86400,
            dedupe_key=f"{PAUSE_ENDS}:{turn.turn_key}",
            payload={"pause_id": turn.turn_key},
        )
        paused.update(event_id=event["id"], pause_id=turn.turn_key)
    turn.flow["paused"] = paused
    turn.flow["schedules"] = []
    until = f" for {days} day(s); the nudges come back by themselves after" if days else ""
    return _json(
        {
            "success": True,
            "paused": True,
            "days": days,
            "message": f"Daily nudges paused{until}. Tell the participant how to resume "
            "(write 'resume').",
        }
    )


async def resume_coaching(turn: TurnContext, *, pause_over: bool = False) -> str:
    """The daily nudge again at the time it had (or the profile's); ends a pause or, once
    the study team has switched a stopped participant back on, the stop."""
    paused = turn.flow.pop("paused", None) or {}
    turn.flow.pop("stopped", None)
    if paused.get("event_id") and not pause_over:
        await turn.scheduler.cancel_event(turn.participant_id, paused["event_id"])
    target = paused.get("target_time") or turn.profile.get("preferred_time")
    if not target or not HHMM.match(str(target)):
        return _failure("No daily time is known: ask for one, then scheduler create.")
    created = json.loads(await _create(turn, "fixed", str(target), None, None, None))
    return _json({**created, "resumed": True})


async def _stop(turn: TurnContext, reason: str | None) -> str:
    """Delivery's own pause: no prompts, and the participant's messages get delivery's
    acknowledgement without reaching the coach. Their schedule stays, so it comes back if
    the study team sets them active again."""
    await _cancel_follow_ups(turn)
    await turn.scheduler.set_status(turn.participant_id, "paused")
    turn.flow.pop("paused", None)
    turn.flow["stopped"] = {"at": turn.now.isoformat(), "reason": reason or ""}
    return _json(
        {
            "success": True,
            "stopped": True,
            "message": "Delivery has paused the participant: no more prompts, and no replies "
            "from the coach, until the study team switches them back on. Say a short, kind "
            "goodbye; promise nothing more.",
        }
    )


def coach_tools() -> list[BaseTool]:
    """The tools, built once; each call finds its turn in the run's config."""
    specs: list[tuple[Any, type[BaseModel]]] = [
        (save_user_profile, SaveUserProfileArgs),
        (scheduler, SchedulerArgs),
        (generate_habit_prompt, GenerateHabitPromptArgs),
        (transition_state, TransitionStateArgs),
        (adjust_intensity, AdjustIntensityArgs),
        (pause_coaching, PauseCoachingArgs),
    ]
    return [
        StructuredTool.from_function(
            coroutine=fn, name=fn.__name__, description=fn.__doc__, args_schema=schema
        )
        for fn, schema in specs
    ]
