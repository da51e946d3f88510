"""The coach: given a conversation and a new message, what to say next.

`OfflineCoach` is deterministic and needs no network: it walks the intake questions one
at a time and records each answer in the profile. The LangGraph flow (issue 4) replaces
it behind the same `Coach` protocol.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from promptpipe_agent.errors import AgentError

INTAKE = "INTAKE"
FEEDBACK = "FEEDBACK"


@dataclass
class Turn:
    """What the coach decided for one incoming message."""

    reply: str
    sub_state: str
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    """What the coach may look at: the participant's state and recent history."""

    participant_id: str
    sub_state: str
    profile: dict[str, Any]
    history: list[dict[str, str]]


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


def _pick(options: list[str], seed: str) -> str:
    """Vary the wording, deterministically for the same participant and step."""
    index = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(options)
    return options[index]


class OfflineCoach:
    """A scripted intake, so that the stack runs with no LLM at all."""

    async def respond(self, conversation: Conversation, message: str) -> Turn:
        profile = dict(conversation.profile)
        pid = conversation.participant_id
        if not conversation.history:
            greeting = _pick(GREETINGS, pid)
            field_name, questions = INTAKE_QUESTIONS[0]
            return Turn(f"{greeting} {_pick(questions, pid + field_name)}", INTAKE, profile)

        missing = [q for q in INTAKE_QUESTIONS if not profile.get(q[0])]
        if missing:
            answered_field = missing[0][0]
            profile[answered_field] = message.strip()
            missing = missing[1:]
        if missing:
            field_name, questions = missing[0]
            return Turn(_pick(questions, pid + field_name), conversation.sub_state, profile)
        return Turn(
            f"Thanks! Here's your plan: after {profile['prompt_anchor']}, take one small step "
            f"toward {profile['habit_domain']}, because {profile['motivational_frame']}. "
            f"I'll remind you around {profile['preferred_time']}.",
            conversation.sub_state,
            profile,
        )

    async def on_event(
        self, conversation: Conversation, kind: str, payload: dict[str, Any]
    ) -> Turn:
        """Scheduled moments: the daily habit prompt and the reminder after silence."""
        profile = conversation.profile
        if kind == "daily_prompt":
            if profile.get("prompt_anchor") and profile.get("habit_domain"):
                text = (
                    f"Time for your one-minute habit: after {profile['prompt_anchor']}, "
                    f"take one small step toward {profile['habit_domain']}. Did you do it?"
                )
            else:
                text = "Time for your one-minute habit! Give it a try and tell me how it went."
            return Turn(text, conversation.sub_state, profile)
        if kind == "reminder":
            return Turn(
                "Just checking in: did you get a chance to try your habit today? "
                "Reply whenever you're ready.",
                conversation.sub_state,
                profile,
            )
        raise UnknownEvent(f"Unknown event kind {kind!r}.")
