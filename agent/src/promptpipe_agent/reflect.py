"""How the offline coach says the participant's own words back to them: first person turned
into second ("my back" → "your back"), a reason turned into a goal ("so I feel less pain"
→ "so that you feel less pain"), an everyday moment into an anchor ("I brush my teeth" →
"after you brush your teeth"), a habit into an action ("practice guitar" → "spend one
minute practicing guitar"). Each function returns a phrase that fits its slot in the
coach's sentence whatever was typed, or None when it cannot, and the coach then asks
again or quotes."""

from __future__ import annotations

import re

# First person → second person, word by word ("I" is handled with its verb).
PRONOUNS = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "im": "you're",
    "i've": "you've",
    "ive": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "we": "you",
    "us": "you",
    "our": "your",
    "ours": "yours",
    "ourselves": "yourselves",
    "we're": "you're",
    "we've": "you've",
}
# The verb after "I" that changes with "you".
AFTER_I = {"am": "are", "was": "were"}


def _set(text: str) -> frozenset[str]:
    """A word list written as text, one or more a line."""
    return frozenset(text.split())


# Everyday verbs in their base form: a phrase starting with one is something to do.
VERBS = _set("""
    be get have do make take go feel sleep stay keep live look lose gain reduce improve stop
    start eat move walk play spend save breathe focus think enjoy relax become build run jog
    swim cycle ride bike dance sing practice practise learn study read write journal draw
    paint cook call text visit meet help drink floss brush stretch meditate pray garden water
    clean tidy declutter organise organize plan prepare pack check limit cut quit drop avoid
    skip spend listen watch smile laugh thank appreciate notice remember try lift climb hike
    sit stand breathe rest nap wake knit sew code program speak talk phone email
    """)
# Gerunds that do not follow the rules below.
GERUNDS = {"be": "being", "see": "seeing", "lie": "lying", "die": "dying", "tie": "tying"}
DOUBLED = _set("run jog swim sit stop plan skip get put shop chat hug jot nap knit")

# Words that say a reason is a wish for something better, not a statement of a problem.
BETTER = _set("""
    more less fewer better healthier stronger calmer fitter happier lighter easier longer
    can could will would able improve
    """)
# Words that make a phrase a sentence ("my back is stiff") rather than a thing ("my kids").
VERB_MARKS = _set("""
    is are was were am 'm has have had do does did can could will would should won't can't
    don't doesn't didn't isn't wasn't aren't gets keeps feels hurts aches makes needs wants
    goes takes helps said told says get keep feel hurt ache need want
    """)
# Troubles named as a thing: the goal is to ease them ("back pain" → "to ease back pain").
TROUBLES = _set("stress pain anxiety tension stiffness insomnia aches worries")
PRONOUN_SUBJECTS = _set("i we it they he she you there people i'm im we're")
SUBJECTS = _set("i my we our it this that there the they he she you your their his her people")
# Ways of saying "I don't know" or nothing at all.
VAGUE = _set("""
    idk dunno no idea not sure unsure nothing whatever anything just because why not ok okay
    hmm hm na n/a ? ?? ...
    """)
VAGUE_PHRASES = ("don't know", "dont know", "no idea", "not sure", "no reason", "just because")

WANTS = re.compile(
    r"^(?:i|we)\s+(?:really\s+|just\s+|also\s+|would\s+)?"
    r"(?:(?:want|need|would like|would love)(?:\s+to)?|wanna|"
    r"(?:hope|wish|plan|have|got|try|am trying|am hoping|am planning|like)\s+to)\s+",
    re.IGNORECASE,
)
CONNECTORS = re.compile(
    r"^(?:so that|so|in order to|to|because|cause|'cause|coz|since|as|for|it'?s|it is|its)\s+",
    re.IGNORECASE,
)
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
TRAILERS = re.compile(
    r"\s+(?:more|more often|again|every day|everyday|each day|daily|regularly|consistently|"
    r"a bit|a little|please|pls|lol|haha)$",
    re.IGNORECASE,
)


GREETING = re.compile(
    r"^(?:hi|hey|hello|hiya|heya|yo|good (?:morning|afternoon|evening)|ok|okay|so|well|um|hmm)"
    r"(?: there)?\s*[,.!]*\s+",
    re.IGNORECASE,
)


def clean(text: str) -> str:
    """The words without emoji, a greeting in front ('hey, I want...'), extra spaces, or a
    full stop or exclamation at the end."""
    text = EMOJI.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = GREETING.sub("", text)
    return text.rstrip(" .!,;:").strip()


def is_vague(text: str) -> bool:
    """'idk', 'not sure', '🤷', '?': no answer to build on."""
    said = clean(text).lower()
    if not re.search(r"[a-z]", said):
        return True
    if any(p in said for p in VAGUE_PHRASES):
        return True
    return said in VAGUE


def second_person(text: str) -> str:
    """'I brush my teeth' → 'you brush your teeth', 'I'm tired' → 'you're tired'."""
    out: list[str] = []
    after_i = False
    for word in text.split():
        bare = word.lower().strip(",.;:!?")
        tail = word[len(word.rstrip(",.;:!?")) :]
        if after_i and bare in AFTER_I:
            out.append(AFTER_I[bare] + tail)
        elif bare in PRONOUNS:
            out.append(PRONOUNS[bare] + tail)
        else:
            out.append(word)
        after_i = bare in ("i", "we")
    return " ".join(out)


def _lower_first(text: str) -> str:
    if not text:
        return text
    first = text.split()[0]
    if first == "I" or first.startswith("I'") or (len(first) > 1 and first.isupper()):
        return text  # "I", "I'm", "NHS": keep as written
    return text[:1].lower() + text[1:]


def _uncontracted(text: str) -> str:
    """'I'd like' → 'I would like', 'I'm trying' → 'I am trying': one form to match."""
    text = re.sub(r"^(i|we)\s*'?d\b", r"\1 would", text, flags=re.IGNORECASE)
    return re.sub(r"^i\s*'?m (trying|hoping|planning)\b", r"I am \1", text, flags=re.I)


def _strip_wants(text: str) -> str:
    """'I want to stretch more' → 'stretch more'; 'I'd like to feel better' → 'feel better'."""
    return WANTS.sub("", _uncontracted(text), count=1)


def gerund(verb: str) -> str:
    """'practice' → 'practicing', 'run' → 'running', 'read' → 'reading'."""
    verb = verb.lower()
    if verb in GERUNDS:
        return GERUNDS[verb]
    if verb in DOUBLED:
        return verb + verb[-1] + "ing"
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    return verb + "ing"


DETAIL = re.compile(r"\s*(?:[,;:]|\s-\s|\.\s)\s*|\s+(?=(?:because|since|cause|so)\s)")


def split_detail(text: str) -> tuple[str, str, str]:
    """'I want to stretch more, my back is stiff' → ('I want to stretch more', '', 'my back
    is stiff'); the middle is the word that joined them ('because', 'so', ...)."""
    said = clean(text)
    parts = DETAIL.split(said, maxsplit=1)
    if len(parts) < 2:
        return said, "", ""
    head, tail = parts[0].strip(), parts[1].strip()
    joined = re.match(r"(because|since|cause|so that|so|to)\s+", tail, flags=re.IGNORECASE)
    if joined:
        return head, joined.group(1).lower(), tail
    return head, "", tail


def habit_words(text: str) -> str | None:
    """The habit in their words, without 'I want to' or 'more': 'practice the guitar'.
    None when it reads as a sentence rather than a habit."""
    said = _lower_first(split_detail(text)[0])
    said = _strip_wants(said)
    said = TRAILERS.sub("", TRAILERS.sub("", said)).strip()
    said = re.sub(r"^(?:to|maybe|probably|something like|like)\s+", "", said, flags=re.I)
    if not said or is_vague(said):
        return None
    words = said.split()
    if len(words) > 8 or words[0].lower() in SUBJECTS - {"my", "our", "the"}:
        return None
    return said


def habit_phrase(text: str) -> str | None:
    """What they want to do, as a phrase that follows 'spend one minute': 'practicing the
    guitar', 'on Spanish'. None when it reads as a sentence rather than a habit."""
    said = habit_words(text)
    if said is None:
        return None
    words = said.split()
    phrase = second_person(said)
    first = words[0].lower()
    if first in VERBS:
        return " ".join([gerund(first), *phrase.split()[1:]])
    if first.endswith("ing") and len(first) > 4:
        return phrase
    return f"on {phrase}"


# One-word moments that read wrong after "after".
MOMENTS = {
    "morning": "first thing in the morning",
    "mornings": "first thing in the morning",
    "evening": "in the evening",
    "evenings": "in the evening",
    "night": "at night",
    "bedtime": "at bedtime",
    "bed": "before bed",
    "noon": "at noon",
    "midday": "at midday",
}


def anchor_phrase(text: str) -> str | None:
    """The everyday moment, ready to open a sentence: 'my morning coffee' → 'after your
    morning coffee', 'I wake up' → 'after you wake up', 'when I get home' → 'when you get
    home'. None for an answer that names no moment."""
    said = _lower_first(clean(text))
    said = re.sub(
        r"^(?:probably|maybe|usually|i guess|i think|just|it could come|it can come|"
        r"do it|i'?ll do it|could be|how about|what about)\s+",
        "",
        said,
        flags=re.IGNORECASE,
    )
    if not said or is_vague(said):
        return None
    if said.lower() in MOMENTS:
        return MOMENTS[said.lower()]
    phrase = second_person(said)
    lowered = phrase.lower()
    opens = (
        "after ",
        "before ",
        "when ",
        "whenever ",
        "while ",
        "once ",
        "as soon as ",
        "right after ",
        "right before ",
        "just after ",
        "just before ",
        "first thing",
        "in the ",
        "at ",
        "during ",
        "on your ",
        "every ",
    )
    if lowered.startswith(opens):
        return phrase
    first = lowered.split()[0]
    if first in VERBS:
        return f"after you {phrase}"
    return f"after {phrase}"


def goal_clause(text: str) -> str | None:
    """Why it matters, as the end of a sentence about the habit: a goal ('so that you feel
    less pain at work', 'to sleep better', 'for more energy') or, said as a problem, a
    reason ('because your back is stiff'). None when there is nothing to build on, or too
    much to echo (the coach then quotes)."""
    said = _lower_first(clean(text))
    said = re.sub(r"^(?:well|hmm|um|honestly|mainly|mostly|basically)[, ]+", "", said, flags=re.I)
    if not said or is_vague(said):
        return None
    connector = CONNECTORS.match(said)
    lead = connector.group(0).strip().lower() if connector else ""
    rest = said[connector.end() :] if connector else said
    wished = WANTS.match(_uncontracted(rest)) is not None
    rest = _strip_wants(rest).strip()
    words = [w.lower().strip(",.;:!?") for w in rest.split()]
    if not words or len(words) > 16 or rest.lower() in PRONOUN_SUBJECTS | {"it", "that", "this"}:
        return None
    reflected = second_person(rest)
    first = words[0]
    clause = first in PRONOUN_SUBJECTS or (first in SUBJECTS and bool(set(words[1:]) & VERB_MARKS))
    if clause:
        if lead in ("so that", "so", "in order to") or set(words) & BETTER:
            return f"so that {reflected}"
        return f"because {reflected}"
    if first in VERBS or lead in ("to", "in order to"):
        return f"to {reflected}"
    if first.endswith("ing") and len(first) > 4 and not wished:
        return f"because {reflected} matters to you"
    if set(words) & TROUBLES and not set(words) & BETTER:
        return f"to ease {reflected}"
    if lead in ("because", "cause", "'cause", "coz", "since", "as"):
        return f"because of {reflected}"
    return f"for {reflected}"  # a thing they want: "more energy", "my kids"


def quoted(text: str, most: int = 80) -> str:
    """The participant's words in quotes, shortened if long."""
    said = clean(text)
    if len(said) > most:
        said = said[: most - 1].rsplit(" ", 1)[0] + "…"
    return f"“{said}”"
