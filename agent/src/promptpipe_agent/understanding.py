"""How the offline model reads everyday answers: clock times, yes and no, intents."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

# Times of day people name instead of a clock time (checked in this order).
NAMED_TIMES = (
    ("breakfast", "08:00"),
    ("wake", "07:00"),
    ("morning", "08:00"),
    ("lunch", "12:30"),
    ("noon", "12:00"),
    ("afternoon", "15:00"),
    ("work", "17:30"),
    ("dinner", "19:00"),
    ("supper", "19:00"),
    ("evening", "19:00"),
    ("bed", "21:30"),
    ("night", "21:30"),
)
CLOCK = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.IGNORECASE)
_WORDS = re.compile(r"[a-z']+")

YES = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "y", "definitely", "absolutely"}
YES_PHRASES = ("let's do it", "lets do it", "why not", "sounds good", "go for it", "of course")
NO = {"no", "nope", "nah", "n", "not", "later", "skip"}
DONE_WORDS = ("done", "did it", "i did", "yes i did", "completed", "finished")
NEXT_TIME_WORDS = ("next time", "not today", "didn't", "did not", "missed", "skipped", "forgot")


def parse_time(text: str) -> str | None:
    """'7:30am' → '07:30', '19h15' → '19:15', 'after lunch' → '12:30'; None if unclear."""
    for match in CLOCK.finditer(text):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = (match.group(3) or "").lower().replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        if meridiem == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60 and (match.group(2) or meridiem):
            return f"{hour:02d}:{minute:02d}"
    lowered = text.lower()
    for word, clock in NAMED_TIMES:
        if word in lowered:
            return clock
    return None


def minus_minutes(hhmm: str, minutes: int) -> str:
    """'07:30' less 10 minutes → '07:20', wrapping around midnight."""
    moment = datetime.strptime(hhmm, "%H:%M") - timedelta(minutes=minutes)
    return moment.strftime("%H:%M")


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def is_yes(text: str) -> bool:
    lowered = text.lower()
    return bool(set(words(text)[:3]) & YES) or any(p in lowered for p in YES_PHRASES)


def is_no(text: str) -> bool:
    first = words(text)[:3]
    return bool(set(first) & NO) or "not now" in text.lower()


def is_done(text: str) -> bool:
    lowered = text.lower().strip()
    return not is_next_time(text) and any(lowered.startswith(w) for w in DONE_WORDS)


def is_next_time(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in NEXT_TIME_WORDS)


def wants_try_now(text: str) -> bool:
    lowered = text.lower()
    return "now" in words(text) or lowered.startswith("try") or "right away" in lowered


def wants_personalize(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("personal", "custom", "tailor", "my own", "adjust", "first"))


def wants_new_time(text: str) -> bool:
    """'Can you move it to 8pm?': a time and a word asking for a change."""
    lowered = text.lower()
    asks = ("change", "move", "switch", "instead", "earlier", "later", "resched", "time to")
    return parse_time(text) is not None and any(w in lowered for w in asks)


def wants_fresh_start(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("new habit", "start over", "different habit", "restart"))


def is_greeting(text: str) -> bool:
    """'Hi!', 'hello there', 'good morning': a greeting and nothing else."""
    said = words(text)
    greetings = {"hi", "hello", "hey", "hiya", "morning", "evening", "afternoon", "good", "there"}
    return bool(said) and len(said) <= 3 and set(said) <= greetings


# How people ask for a style, and the whitelisted tone tag each asks for.
TONE_REQUESTS = (
    (("shorter", "keep it short", "be brief", "less text", "too long"), "concise"),
    (("more detail", "explain more"), "detailed"),
    (("no emoji", "without emoji", "stop the emoji"), "no_emojis"),
    (("be gentle", "gentler", "go easy"), "gentle_coach"),
    (("be direct", "tough love", "push me", "be strict"), "direct_coach"),
    (("more casual", "less formal"), "casual"),
    (("more formal", "be formal"), "formal"),
    (("one question at a time", "too many questions"), "one_question_at_a_time"),
)


def tone_request(text: str) -> list[str]:
    """Tone tags the participant explicitly asks for ('keep it short' → concise)."""
    lowered = text.lower()
    return [tag for phrases, tag in TONE_REQUESTS if any(p in lowered for p in phrases)]
