"""The habit's intensity (low, normal, high): when the check is due, the question with reply
buttons, how an answer moves it one step, and what each level means to the prompt writer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promptpipe_agent.understanding import words

LEVELS = ("low", "normal", "high")
QUESTION = "How's the intensity?"
DECREASE = {"id": "intensity_decrease", "title": "Decrease"}
KEEP = {"id": "intensity_keep", "title": "Keep current"}
INCREASE = {"id": "intensity_increase", "title": "Increase"}

# What a level asks of the writer, and how the coach names it to the participant.
SIZES = {
    "low": "a 30-second version",
    "normal": "the one-minute version",
    "high": "a slightly bigger step",
}

# Plain-text answers (a word or a short phrase), read only right after the question.
DOWN = {"less", "lower", "low", "easier", "decrease", "smaller", "reduce", "lighter", "down"}
UP = {"more", "higher", "high", "harder", "increase", "bigger", "up", "tougher"}
SAME = {"fine", "keep", "same", "good", "ok", "okay", "right", "perfect", "current", "normal"}
MOST_WORDS = 6
# A size the participant keeps (or a question left unanswered) is not asked about again
# for a few days; a new size is checked the next day.
QUIET_DAYS = 3


def due(total_prompts: int, from_prompt: int, today: date, next_on: str | None) -> bool:
    """From the `from_prompt`-th daily prompt on (a couple to judge by), and not before the
    day set by the last check (next_check): so at most once a participant-local day."""
    return total_prompts >= from_prompt and today.isoformat() >= (next_on or "")


def closes_exchange(reply: str) -> bool:
    """The coach's reply ends the exchange when it asks nothing more: the question then
    comes as the last words of a message the participant is reading anyway."""
    return bool(reply.strip()) and not reply.rstrip().endswith("?")


def level_of(profile: dict[str, Any]) -> str:
    level = str(profile.get("intensity") or "normal")
    return level if level in LEVELS else "normal"


def buttons(level: str) -> list[dict[str, str]]:
    """PromptPipe's poll options by level: no way down from low, no way up from high."""
    return [b for b in (DECREASE, KEEP, INCREASE) if not _pointless(level, b)]


def _pointless(level: str, button: dict[str, str]) -> bool:
    return (level, button["id"]) in (("low", DECREASE["id"]), ("high", INCREASE["id"]))


# What the buttons offer, by level (none lower than low, none higher than high).
CHOICES = {
    "low": "Tap Increase for a bit more, or keep it as it is.",
    "normal": "Tap to make it easier or a bit bigger, or keep it as it is.",
    "high": "Tap Decrease to make it easier, or keep it as it is.",
}


def question(level: str) -> str:
    return f"{QUESTION} Right now your daily habit is {SIZES[level]}. {CHOICES[level]}"


def read_answer(text: str, question_was_last: bool) -> int | None:
    """The step an answer asks for (-1, 0, +1), or None if it is not an answer. A button
    tap arrives as its title and counts while the check is open; words count only as the
    reply to the question itself, and only when they point one way ('less', 'more',
    'fine')."""
    said = text.strip().lower()
    for button, step in ((DECREASE, -1), (KEEP, 0), (INCREASE, 1)):
        if said == button["title"].lower():
            return step
    if not question_was_last:
        return None
    found = words(text)
    if not found or len(found) > MOST_WORDS:
        return None
    lowered = " ".join(found)
    down = bool(set(found) & DOWN) or any(p in lowered for p in ("too much", "too hard"))
    up = bool(set(found) & UP) or "too easy" in lowered
    if down != up:
        return -1 if down else 1
    if not down and set(found) & SAME:
        return 0
    return None


def moved(level: str, step: int) -> str:
    index = min(max(LEVELS.index(level) + step, 0), len(LEVELS) - 1)
    return LEVELS[index]


def acknowledge(old: str, new: str, step: int) -> str:
    if step == 0:
        return f"Great, we'll keep {SIZES[new]}."
    if new == old:
        edge = "smallest" if step < 0 else "biggest"
        return f"It's already at its {edge}, {SIZES[new]}; we'll keep it there."
    return f"Got it: from your next prompt, {SIZES[new]}."


def next_check(today: date, changed: bool) -> str:
    """The participant-local day from which the check may come again."""
    return (today + timedelta(days=1 if changed else QUIET_DAYS)).isoformat()


def local_day(now: datetime, timezone: str | None) -> date:
    """The participant's calendar day (their timezone as delivery knows it, else UTC)."""
    try:
        return now.astimezone(ZoneInfo(timezone or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.date()


def apply(profile: dict[str, Any], flow: dict[str, Any], today: date, step: int) -> tuple[str, str]:
    """Moves the level one step (clamped) in the profile and closes an open check; a new
    size is asked about the next day, an unchanged one after the quiet days. Returns the
    old and the new level. Used by the answer to the question and by the model's
    adjust_intensity tool ("make it easier") alike."""
    old = level_of(profile)
    new = moved(old, step)
    profile["intensity"] = new
    flow["intensity_check"] = None
    flow["intensity_next_on"] = next_check(today, changed=new != old)
    return old, new
