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
# A clock time as written: minutes or am/pm ("7:30", "8pm"), not a bare number.
CLOCK_TIME = re.compile(r"\b\d{1,2}(?:[:.h]\d{2}|\s*(?:am|pm|a\.m\.|p\.m\.))", re.IGNORECASE)
_WORDS = re.compile(r"[a-z']+")

YES = {
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "yas",
    "yess",
    "sure",
    "ok",
    "okay",
    "k",
    "y",
    "definitely",
    "absolutely",
    "alright",
    "ready",
}
YES_PHRASES = (
    "let's do it",
    "lets do it",
    "let's go",
    "lets go",
    "why not",
    "sounds good",
    "go for it",
    "of course",
    "👍",
    "👌",
)
NO = {"no", "nope", "nah", "n", "not", "later", "skip", "nop", "noo"}
DONE_WORDS = (
    "done",
    "did it",
    "i did",
    "yes i did",
    "yes done",
    "completed",
    "finished",
    "just did",
    "all done",
    "i've done",
    "ive done",
    "✅",
    "✔",
)
DONE_TYPOS = {"dn", "donee", "doen", "dnoe", "donr", "doneee"}
NEXT_TIME_WORDS = (
    "next time",
    "nxt time",
    "next tim",
    "not today",
    "not 2day",
    "not this time",
    "didn't",
    "didnt",
    "did not",
    "couldn't",
    "couldnt",
    "missed",
    "skipped",
    "forgot",
    "no time",
    "maybe tomorrow",
)


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
    """'Done', 'did it!', 'donee 💪', '✅': the habit happened."""
    lowered = text.lower().strip()
    if is_next_time(text) or wants_stop(text):
        return False
    said = words(text)
    return any(lowered.startswith(w) for w in DONE_WORDS) or bool(said and said[0] in DONE_TYPOS)


def is_next_time(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in NEXT_TIME_WORDS)


def wants_try_now(text: str) -> bool:
    lowered = text.lower()
    return "now" in words(text) or lowered.startswith("try") or "right away" in lowered


def wants_personalize(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("personal", "custom", "tailor", "my own", "adjust", "first"))


TIME_CHANGE = ("change", "move", "switch", "instead", "earlier", "later", "resched", "time to")


def wants_new_time(text: str) -> bool:
    """'Can you move it to 8pm?', '7am instead': a time and a word asking for a change. A
    time of day by name needs a verb of change ('can I do it later in the evening?' is a
    question, not a new time)."""
    lowered = text.lower()
    if parse_time(text) is None:
        return False
    if CLOCK_TIME.search(text):
        return any(w in lowered for w in TIME_CHANGE)
    return any(w in lowered for w in ("change", "move", "switch", "resched"))


def wants_time_change(text: str) -> bool:
    """'Can we change the time?': a change of the nudge's time, the new time not yet said."""
    lowered = text.lower()
    about = ("time", "nudge", "reminder", "remind", "when you message", "when you text")
    changes = ("change", "move", "switch", "resched", "different", "another", "other", "instead")
    return any(w in lowered for w in about) and any(w in lowered for w in changes)


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


# FEEDBACK: what people write between prompts -------------------------------------------

EASIER = (
    "easier",
    "eaiser",
    "easyer",
    "simpler",
    "smaller",
    "too hard",
    "too much",
    "too difficult",
    "too long",
    "less of it",
    "tone it down",
    "shorter version",
    "scale it down",
    "scale back",
)
HARDER = (
    "harder",
    "hardr",
    "bigger",
    "too easy",
    "more challeng",
    "challenge me",
    "step it up",
    "level up",
    "more of it",
    "longer version",
    "tougher",
    "scale it up",
    "push me more",
)


def wants_easier(text: str) -> bool:
    lowered = text.lower()
    return any(p in lowered for p in EASIER) and not any(p in lowered for p in HARDER)


def wants_harder(text: str) -> bool:
    lowered = text.lower()
    return any(p in lowered for p in HARDER) and not any(p in lowered for p in EASIER)


STOP_PHRASES = (
    "unsubscribe",
    "opt out",
    "opt-out",
    "leave me alone",
    "stop messaging",
    "stop texting",
    "stop sending",
    "stop writing",
    "stop contacting",
    "don't message",
    "dont message",
    "don't text",
    "dont text",
    "don't contact",
    "no more messages",
    "i want out",
    "i quit",
    "quit this",
    "i'm done with this",
    "im done with this",
    "done with this",
    "cancel everything",
    "cancel my",
    "delete me",
    "remove me",
)
PAUSE_PHRASES = (
    "pause",
    "take a break",
    "taking a break",
    "need a break",
    "a break from",
    "on holiday",
    "on vacation",
    "going away",
    "travelling",
    "traveling",
    "away for",
    "hold off",
    "no nudges",
    "no reminders",
    "skip the next",
    "stop for a",
    "stop the nudges for",
    "stop the reminders for",
)
RESUME_PHRASES = (
    "resume",
    "unpause",
    "un-pause",
    "i'm back",
    "im back",
    "i am back",
    "back from",
    "start again",
    "start the nudges again",
    "nudges back",
    "reminders back",
    "turn the nudges back on",
    "restart the nudges",
    "continue the nudges",
)
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "couple": 2,
    "three": 3,
    "few": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "ten": 10,
    "fourteen": 14,
}
SPAN = re.compile(
    r"\b(\d{1,2}|a|an|one|two|three|four|five|six|seven|ten|fourteen|couple|few)"
    r"(?:\s+of)?\s+(day|days|week|weeks|wk|wks)\b"
)


def wants_stop(text: str) -> bool:
    """'stop', 'unsubscribe', 'leave me alone': no more coaching at all. A pause ('stop for
    a week') and a style ('stop the emojis') are not this."""
    lowered = text.lower().strip()
    said = words(text)
    if wants_pause(text) or tone_request(text):
        return False
    return said in (["stop"], ["stop", "please"], ["please", "stop"], ["stop", "it"], ["quit"]) or (
        any(p in lowered for p in STOP_PHRASES)
    )


def wants_pause(text: str) -> bool:
    lowered = text.lower()
    return any(p in lowered for p in PAUSE_PHRASES) and not wants_resume_words(lowered)


def wants_resume_words(lowered: str) -> bool:
    return any(p in lowered for p in RESUME_PHRASES) and "pause" not in lowered.replace(
        "unpause", ""
    ).replace("un-pause", "")


def wants_resume(text: str) -> bool:
    return wants_resume_words(text.lower())


def pause_days(text: str) -> int | None:
    """'for a week' → 7, 'for 3 days' → 3, 'the weekend' → 2; None for an open pause."""
    lowered = text.lower()
    match = SPAN.search(lowered)
    if match:
        count = match.group(1)
        number = int(count) if count.isdigit() else NUMBER_WORDS[count]
        return number * (7 if match.group(2).startswith("w") else 1) or None
    if "weekend" in lowered:
        return 2
    if "fortnight" in lowered:
        return 14
    return None


def is_thanks(text: str) -> bool:
    lowered = text.lower()
    said = words(text)
    return bool(set(said) & {"thx", "thnx", "thanx", "ty", "tysm", "cheers", "ta"}) or any(
        p in lowered for p in ("thank", "appreciate", "🙏")
    )


SMALL_TALK = {
    "ok",
    "okay",
    "k",
    "kk",
    "cool",
    "nice",
    "great",
    "good",
    "awesome",
    "lol",
    "haha",
    "hahaha",
    "lmao",
    "wow",
    "sure",
    "alright",
    "yes",
    "yeah",
    "yep",
    "fine",
    "perfect",
    "noted",
    "got",
    "it",
    "sounds",
}


def is_small_talk(text: str) -> bool:
    """'ok', 'lol', 'cool 😎', '👍', 'how are you?': nothing to act on."""
    said = words(text)
    lowered = text.lower()
    if any(p in lowered for p in ("how are you", "how r u", "how's it going", "hows it going")):
        return True
    return not said or (len(said) <= 3 and set(said) <= SMALL_TALK | {"there", "hi", "hello"})


QUESTION_STARTS = {
    "what",
    "whats",
    "what's",
    "how",
    "hows",
    "why",
    "when",
    "where",
    "which",
    "who",
    "can",
    "could",
    "should",
    "shall",
    "is",
    "are",
    "do",
    "does",
    "will",
    "would",
    "may",
    "if",
    "wat",
}


def is_question(text: str) -> bool:
    said = words(text)
    return "?" in text or bool(said and said[0] in QUESTION_STARTS)


def asks_about_forgetting(text: str) -> bool:
    """'What if I forget?', 'and if i forget', 'i always forget things': help to remember."""
    lowered = text.lower()
    return any(w in lowered for w in ("forget", "forgot", "remember")) and (
        is_question(text) or "always" in lowered or "keep" in lowered
    )


def topic_of_question(text: str) -> str:
    """What a question about the habit is about, for a short, specific answer."""
    lowered = text.lower()
    topics = (
        ("forget", ("forget", "forgot", "remember")),
        ("hurt", ("hurt", "pain", "sore", "injur", "ache")),
        ("miss", ("miss a day", "skip a day", "skip one", "miss one", "weekend", "day off")),
        ("how_long", ("how long", "how much", "how many", "minutes", "seconds")),
        ("when", ("what time", "when is", "when's", "when will", "when do you", "next nudge")),
        ("later", ("later", "another time", "different time", "tonight", "instead")),
        ("counts", ("count", "enough", "half", "only did", "partly", "partial")),
        ("why", ("why",)),
        (
            "what",
            (
                "what should i do",
                "what do i do",
                "what was",
                "what is my",
                "what's my",
                "remind me",
                "what exactly",
                "which habit",
                "what habit",
                "what am i",
            ),
        ),
        ("bot", ("are you a", "are you real", "bot", "human", "robot", "who are you")),
    )
    for topic, cues in topics:
        if any(c in lowered for c in cues):
            return topic
    return "other"
