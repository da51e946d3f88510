"""The coach: given a conversation and a new message (or a due event), what to say next.

`OfflineCoach` is deterministic and needs no network. It walks the intake questions one
at a time, sets up the daily prompt through delivery, then runs the feedback loop: the
daily prompt with "Done" / "Next time" buttons, a reminder when it goes unanswered, and a
question about what helped or what got in the way. The LangGraph flow (issue 4) replaces
it behind the same `Coach` protocol.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from promptpipe_agent.delivery import Scheduler
from promptpipe_agent.errors import AgentError

INTAKE = "INTAKE"
FEEDBACK = "FEEDBACK"

# PromptPipe's constants: the prompt goes out 10 minutes before the chosen time, and an
# unanswered prompt gets a reminder 5 hours later.
PREP_MINUTES = 10
REMINDER_DELAY = timedelta(hours=5)

DONE = {"id": "done", "title": "Done"}
NEXT_TIME = {"id": "next_time", "title": "Next time"}


@dataclass
class Turn:
    """What the coach decided: the reply (empty: say nothing), the new state, buttons."""

    reply: str
    sub_state: str
    profile: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, Any] = field(default_factory=dict)
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Conversation:
    """What the coach may look at: the participant's state and recent history."""

    participant_id: str
    sub_state: str
    profile: dict[str, Any]
    history: list[dict[str, str]]
    flow: dict[str, Any] = field(default_factory=dict)


class Coach(Protocol):
    async def respond(self, conversation: Conversation, message: str) -> Turn: ...

    async def on_event(
        self, conversation: Conversation, kind: str, payload: dict[str, Any]
    ) -> Turn: ...


class UnknownEvent(AgentError):
    """delivery fired an event kind this coach does not know; retrying will not help."""

    status_code = 422
    code = "unknown_event"


# Intake questions, asked in this order; each answer fills the profile field named here.
INTAKE_QUESTIONS: list[tuple[str, list[str]]] = [
    (
        "habit_domain",
        [
            "Which part of your day would you like a small healthy habit for: moving more, "
            "eating better, sleeping, or easing stress?",
        ],
    ),
    (
        "motivational_frame",
        [
            "Nice choice. Why does that matter to you right now? One sentence is plenty.",
            "Good one. What would be better for you if this habit stuck?",
        ],
    ),
    (
        "prompt_anchor",
        [
            "Habits stick best when they follow something you already do. What could this "
            "one come after, like brushing your teeth or making coffee?",
            "What everyday moment could remind you to do it, for example after breakfast?",
        ],
    ),
    (
        "preferred_time",
        [
            "And what time of day suits you best for a short reminder (for example 7:30am)?",
            "When should I nudge you each day? A time like 8:00 or 'after lunch' works.",
        ],
    ),
]

GREETINGS = [
    "Hi there! I'm your habit coach. Over the next few days we'll build one tiny habit "
    "together, in a minute a day.",
    "Hello! I'm your habit coach, here to help you build one small daily habit that fits "
    "your life.",
]

# Times of day people name instead of a clock time.
NAMED_TIMES = {
    "breakfast": "08:00",
    "morning": "08:00",
    "wake": "07:00",
    "lunch": "12:30",
    "noon": "12:00",
    "afternoon": "15:00",
    "dinner": "19:00",
    "evening": "19:00",
    "night": "21:30",
    "bed": "21:30",
}
CLOCK = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.IGNORECASE)


def parse_time(text: str) -> str | None:
    """'7:30am' → '07:30', '19h15' → '19:15', 'after lunch' → '12:30'; None if unclear."""
    match = CLOCK.search(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = (match.group(3) or "").lower().replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        if meridiem == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60 and (match.group(2) or meridiem):
            return f"{hour:02d}:{minute:02d}"
    lowered = text.lower()
    for word, clock in NAMED_TIMES.items():
        if word in lowered:
            return clock
    return None


def minus_minutes(hhmm: str, minutes: int) -> str:
    moment = datetime.strptime(hhmm, "%H:%M") - timedelta(minutes=minutes)
    return moment.strftime("%H:%M")


def _pick(options: list[str], seed: str) -> str:
    """Vary the wording, deterministically for the same participant and step."""
    index = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(options)
    return options[index]


def _is(message: str, *answers: str) -> bool:
    return message.strip().lower().rstrip("!.") in answers


class OfflineCoach:
    """A scripted coach, so that the stack runs with no LLM at all."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def respond(self, conversation: Conversation, message: str) -> Turn:
        if conversation.sub_state == FEEDBACK:
            return await self._feedback(conversation, message)
        return await self._intake(conversation, message)

    async def _intake(self, conversation: Conversation, message: str) -> Turn:
        profile, flow = dict(conversation.profile), dict(conversation.flow)
        pid = conversation.participant_id
        if not conversation.history:
            greeting = _pick(GREETINGS, pid)
            field_name, questions = INTAKE_QUESTIONS[0]
            return Turn(f"{greeting} {_pick(questions, pid + field_name)}", INTAKE, profile, flow)

        missing = [q for q in INTAKE_QUESTIONS if not profile.get(q[0])]
        if missing:
            profile[missing[0][0]] = message.strip()
            missing = missing[1:]
        if missing:
            field_name, questions = missing[0]
            return Turn(_pick(questions, pid + field_name), INTAKE, profile, flow)

        target = parse_time(profile["preferred_time"])
        assumed = target is None
        target = target or "09:00"
        prompt_at = minus_minutes(target, PREP_MINUTES)
        await self.scheduler.ensure_daily(pid, "daily_prompt", prompt_at)
        flow["schedule"] = {"target": target, "prompt_at": prompt_at}
        when = (
            f"{target} (I wasn't sure, so I picked 9am; tell me to change it)"
            if assumed
            else target
        )
        return Turn(
            f"Here's your plan: after {profile['prompt_anchor']}, take one small step toward "
            f"{profile['habit_domain']}, because {profile['motivational_frame']}. "
            f"I'll nudge you every day at {prompt_at}, a few minutes before {when}. "
            "When it comes, just tap Done or Next time.",
            FEEDBACK,
            profile,
            flow,
        )

    async def _feedback(self, conversation: Conversation, message: str) -> Turn:
        profile, flow = dict(conversation.profile), dict(conversation.flow)
        pid = conversation.participant_id
        pending = flow.pop("pending_prompt", None)
        if pending:
            # Any answer to the prompt makes its reminder pointless.
            await self.scheduler.cancel_event(pid, pending["reminder_event_id"])
        if _is(message, "done", "yes", "did it", "i did it"):
            profile["success_count"] = int(profile.get("success_count", 0)) + 1
            flow["asked"] = "motivator"
            return Turn("Great work! What made it easier today?", FEEDBACK, profile, flow)
        if _is(message, "next time", "no", "not yet", "not today"):
            flow["asked"] = "barrier"
            return Turn(
                "No problem, it happens. What got in the way today?", FEEDBACK, profile, flow
            )
        asked = flow.pop("asked", None)
        if asked == "motivator":
            profile["last_motivator"] = message.strip()
            return Turn(
                "Thanks, I'll remember that. See you at tomorrow's nudge!", FEEDBACK, profile, flow
            )
        if asked == "barrier":
            profile["last_barrier"] = message.strip()
            tweak = f"try a 30-second version right after {profile.get('prompt_anchor', 'it')}"
            profile["last_tweak"] = tweak
            return Turn(
                f"Thanks for telling me. A small tweak for tomorrow: {tweak}.",
                FEEDBACK,
                profile,
                flow,
            )
        return Turn(
            "I'll check in at your usual time. Tap Done whenever you've done it.",
            FEEDBACK,
            profile,
            flow,
            [DONE, NEXT_TIME],
        )

    async def on_event(
        self, conversation: Conversation, kind: str, payload: dict[str, Any]
    ) -> Turn:
        """Scheduled moments: the daily habit prompt and the reminder after silence."""
        profile, flow = dict(conversation.profile), dict(conversation.flow)
        pid = conversation.participant_id
        if kind == "daily_prompt":
            profile["total_prompts"] = int(profile.get("total_prompts", 0)) + 1
            reminder = await self.scheduler.schedule_event(
                pid,
                "reminder",
                REMINDER_DELAY.total_seconds(),
                dedupe_key=f"reminder:{profile['total_prompts']}",
            )
            flow["pending_prompt"] = {"reminder_event_id": reminder["id"]}
            flow.pop("asked", None)
            if profile.get("prompt_anchor") and profile.get("habit_domain"):
                text = (
                    f"Time for your one-minute habit: after {profile['prompt_anchor']}, "
                    f"take one small step toward {profile['habit_domain']}. Did you do it?"
                )
            else:
                text = "Time for your one-minute habit! Did you give it a try?"
            return Turn(text, FEEDBACK, profile, flow, [DONE, NEXT_TIME])
        if kind == "reminder":
            if not flow.pop("pending_prompt", None):
                return Turn("", conversation.sub_state, profile, flow)  # answered meanwhile
            return Turn(
                "Just checking in: did you get a chance to try your habit today?",
                conversation.sub_state,
                profile,
                flow,
                [DONE, NEXT_TIME],
            )
        raise UnknownEvent(f"Unknown event kind {kind!r}.")
