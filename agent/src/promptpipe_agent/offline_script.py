"""What the offline coach reads of a turn (the message, its own last question and reply, the
profile) and how it words things: its questions, a choice among phrasings that never
repeats a sentence of its previous message, and the habit told as one sentence."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from promptpipe_agent import events, feedback, habits
from promptpipe_agent.offline_style import SENTENCE, SHORT_QUESTIONS
from promptpipe_agent.reflect import anchor_phrase, goal_clause

T = TypeVar("T")

# Questions, by the step they ask about. The model recognizes its last question by these.
# (The simulator's scenarios answer by matching words in them: the anchor question alone
# says "come after" or "remind you", the reason question alone "why", "matter" or "better
# for you", the time question alone "what time", "when should" or "nudge you", and only the
# opening offer says "personalize".)
QUESTIONS: dict[str, list[str]] = {
    "offer": [
        "Would you like to try it now, or personalize it first?",
        "Want to try it right now, or shall we personalize it first?",
    ],
    "habit_domain": [
        "What would you like your tiny habit to be about: moving more, stretching, eating "
        "better, drinking water, sleep, stress, reading, or something else?",
        "Which area should this habit help with? For example moving more, stretching, "
        "drinking water, sleeping better or easing stress.",
    ],
    "motivational_frame": [
        "Why does that matter to you right now? One sentence is plenty.",
        "What would be better for you if this habit stuck?",
    ],
    "prompt_anchor": [
        "Habits stick best when they follow something you already do. What could this one "
        "come after, like brushing your teeth or making coffee?",
        "What everyday moment could remind you to do it, for example after breakfast?",
    ],
    "preferred_time": [
        "What time of day suits you best for a short daily nudge (for example 7:30am)?",
        "When should I nudge you each day? A time like 8:00 or 'after lunch' works.",
    ],
    "additional_info": [
        "Anything else I should know to make this fit your day? (Or just say no.)",
        "Is there anything else that would help me tailor it, like your schedule? "
        "'No' is fine too.",
    ],
    "try_check": [
        "Would you like to try a one-minute version right now?",
        "Shall we do a one-minute version right now, while it's fresh?",
    ],
    "motivator": [
        "What made it easier today?",
        "What helped you make it happen?",
        "What do you think made it work today?",
    ],
    "barrier": [
        "What got in the way today?",
        "What made it hard this time?",
        "What stopped you today, do you think?",
    ],
    "new_time": [
        "What time would suit you better for the nudge?",
        "Sure. What time should the nudge come instead?",
    ],
}
# The same questions asked once more, after an answer the coach could not use.
REASKS: dict[str, list[str]] = {
    "habit_domain": [
        "Pick whichever sounds most useful for your habit: moving more, stretching, eating "
        "better, drinking water, sleep, stress or reading. Or tell me your own idea.",
        "Tell me in a few words what you'd like your habit to be, like 'practice guitar' "
        "or 'call a friend'.",
    ],
    "motivational_frame": [
        "What would you like it to change for you, like more energy, less pain or better "
        "sleep? Your own words are best for why it matters.",
        "Even a small reason helps: why does it matter to you?",
    ],
    "prompt_anchor": [
        "Think of something you do every day anyway, like getting up, making coffee or "
        "getting home. What could it come after?",
    ],
    "preferred_time": [
        "Sorry, I didn't catch a time there. Could you give me one like 7:30am, 18:00 or "
        "'after lunch'?",
    ],
    "try_check": [
        "Just say yes to try it now, or no to start with tomorrow's nudge.",
    ],
    "new_time": [
        "Which time should it be? Something like 7:30am or 18:00 works.",
    ],
}
# Parts of questions built around the participant's words, by step.
MARKERS: dict[str, list[str]] = {
    "prompt_anchor": ["that it could come after"],
    "preferred_time": ["Just to be sure, is that"],
}
# The check-ins sent by time events ("how did it go?").
CHECK_INS = [
    *feedback.HOW_DID_IT_WORK,
    *feedback.LAST_CHECK_IN,
    *events.REMINDERS,
    *events.HOW_DID_IT_GO,
]
NUDGE = (
    "I'll send you a nudge every day at {prompt}, a few minutes before {target}. "
    "When it comes, tap Done or Next time."
)
CHECKS = ["Doable?", "Can you do that?", "Sound doable?"]


def seeded(options: Sequence[T], *seed: object) -> T:
    """One of the options, the same for the same seed (the coach's wording varies by
    participant and turn, yet a replayed conversation says the same)."""
    digest = hashlib.sha256("|".join(map(str, seed)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def sentences(text: str) -> list[str]:
    return [s.strip() for line in text.splitlines() for s in SENTENCE.split(line) if s.strip()]


@dataclass
class Plan:
    """The model's plan for one turn: rounds of tool calls, then the reply written from
    their results (tool name → result text)."""

    rounds: list[list[tuple[str, dict[str, Any]]]] = field(default_factory=list)
    reply: Callable[[dict[str, str]], str] = lambda _: ""


@dataclass
class Moment:
    """One turn as the offline coach sees it."""

    context: dict[str, Any]
    text: str  # the participant's message
    asked: str | None  # the step of the coach's last question (None: it has said nothing)
    previous: str  # the coach's last message
    turn: int  # how many messages came before: varies the wording turn by turn

    @property
    def profile(self) -> dict[str, Any]:
        return dict(self.context.get("profile") or {})

    @property
    def schedules(self) -> list[dict[str, Any]]:
        return list(self.context.get("schedules") or [])

    @property
    def concise(self) -> bool:
        tone = self.profile.get("tone") or {}
        return "concise" in (tone.get("tone_tags") or [])

    def pick(self, options: Sequence[str], *salt: object) -> str:
        """A phrasing for this turn that repeats no sentence of the previous message."""
        said = set(sentences(self.previous))
        start = int.from_bytes(
            hashlib.sha256(
                "|".join(map(str, (self.context.get("participant_id"), self.turn, *salt))).encode()
            ).digest()[:4],
            "big",
        )
        for i in range(len(options)):
            option = options[(start + i) % len(options)]
            if not set(sentences(option)) & said:
                return option
        return options[start % len(options)]

    def ask(self, step: str) -> str:
        return self.pick(QUESTIONS[step], step)

    def reask(self, step: str) -> str:
        """The question again, in other words: a re-ask first, the plain ones if it was
        just used."""
        said = set(sentences(self.previous))
        fresh = [r for r in REASKS.get(step, []) if not set(sentences(r)) & said]
        return self.pick(fresh or QUESTIONS[step], "again", step)

    def ack(self, options: Sequence[str], *salt: object) -> str:
        """An acknowledgement, left out for a participant who asked for short messages."""
        return "" if self.concise else self.pick(options, "ack", *salt)


def join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def last_question(history: Sequence[Any]) -> tuple[str | None, str]:
    """Which of its questions the model asked in its last message (None: it has said
    nothing yet; "other": none it knows), and that message."""
    said = next((str(m.content) for m in reversed(history) if m.type == "ai"), None)
    if said is None:
        return None, ""
    for step in QUESTIONS:
        variants = QUESTIONS[step] + REASKS.get(step, []) + MARKERS.get(step, [])
        if any(v in said for v in variants) or SHORT_QUESTIONS.get(step, "\0") in said:
            return step, said
    if any(c in said for c in CHECK_INS):
        return "check_in", said
    return "other", said


# The habit in words ----------------------------------------------------------------------


def reasons_of(profile: dict[str, Any], *more: str) -> str:
    """Everything they said about why and what holds them back: it chooses the action."""
    keys = ("habit_domain", "motivational_frame", "additional_info", "last_barrier")
    return " ".join([*(str(profile.get(k) or "") for k in keys), *more])


def action_of(profile: dict[str, Any], level: str | None = None, *more: str) -> str:
    """Today's one thing to do, sized by the intensity ('do eight slow cat-cow stretches on
    your hands and knees'); the same action day after day for the same habit."""
    habit = str(profile.get("habit_domain") or "")
    seed = f"{habit}|{profile.get('prompt_anchor', '')}"
    size = level or str(profile.get("intensity") or "normal")
    return habits.action(habit, reasons_of(profile, *more), size, seed)


def anchor_of(profile: dict[str, Any]) -> str:
    return anchor_phrase(str(profile.get("prompt_anchor") or "")) or "at your usual moment"


def goal_of(profile: dict[str, Any]) -> str | None:
    return goal_clause(str(profile.get("motivational_frame") or ""))


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def nudge_sentence(schedule: dict[str, Any]) -> str:
    return NUDGE.format(prompt=schedule["prompt_time"], target=schedule["target_time"])


def status(m: Moment) -> list[str]:
    """Ways to say when the coach will be in touch next."""
    if m.context.get("paused"):
        return [
            "Your nudges are paused; write 'resume' whenever you're ready.",
            "Your nudges are on pause for now. Just write 'resume' to bring them back.",
        ]
    if not m.schedules:
        return ["I'll check in with you soon.", "Talk soon!"]
    at = m.schedules[0]["prompt_time"]
    return [
        f"Your next nudge comes at {at}.",
        f"Next nudge: {at}, as usual.",
        f"I'll nudge you again at {at}.",
    ]
