"""The offline coach's catalogue of one-minute habits: the areas people name (moving,
stretching, eating, drinking water, sleep, stress, reading), the words that point to each,
and a few actions per area at three sizes (a 30-second version, about a minute, a slightly
bigger step). An action says which reasons it suits and which rule it out, so a stiff back
gets gentle stretches, not squats. Anything else is kept in the participant's words."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from promptpipe_agent.reflect import habit_phrase

LEVELS = ("low", "normal", "high")
MINUTES = ("30 seconds", "one minute", "two minutes")


@dataclass(frozen=True)
class Idea:
    """One action at three sizes, no size a part of another (so a prompt names one)."""

    sizes: tuple[str, str, str]
    suits: frozenset[str] = field(default_factory=frozenset)  # word starts in their reasons
    avoid: frozenset[str] = field(default_factory=frozenset)  # ...that rule it out


@dataclass(frozen=True)
class Area:
    key: str
    label: str  # how the profile and the coach name it: "stretching"
    words: tuple[str, ...]  # word starts that point to it
    ideas: tuple[Idea, ...]
    ack: str  # the coach's answer when it is chosen


def _idea(low: str, normal: str, high: str, suits: str = "", avoid: str = "") -> Idea:
    return Idea((low, normal, high), frozenset(suits.split()), frozenset(avoid.split()))


# Pain and injury words: no loaded or jarring moves for them.
SORE = "back knee hip pain hurt sore injur ache stiff spine slipped disc sciatica"

AREAS: tuple[Area, ...] = (
    Area(
        "move",
        "moving more",
        (
            "move",
            "moving",
            "walk",
            "step",
            "active",
            "activity",
            "exercis",
            "fit",
            "run",
            "jog",
            "physical",
            "sport",
            "gym",
            "workout",
            "cardio",
            "sit",
            "sedentary",
            "strength",
            "strong",
            "muscle",
            "squat",
            "pushup",
            "push-up",
        ),
        (
            _idea(
                "stand up and take 20 steps",
                "stand up and take 50 steps",
                "take a brisk two-minute walk",
                suits="physical moving sit desk energy walk step active sedentary tired",
            ),
            _idea(
                "do three slow squats",
                "do ten slow squats",
                "do twenty slow squats",
                suits="strong strength leg muscle fit squat tone",
                avoid=SORE,
            ),
            _idea(
                "march on the spot for 30 seconds",
                "march on the spot for one minute",
                "march on the spot for two minutes, knees high",
                suits="energy heart cardio awake tired fit",
                avoid="knee hip",
            ),
            _idea(
                "do two wall push-ups",
                "do five wall push-ups",
                "do twelve wall push-ups",
                suits="strong strength arm muscle upper pushup push-up",
                avoid="shoulder wrist",
            ),
        ),
        "Moving more, good choice.",
    ),
    Area(
        "stretch",
        "stretching",
        (
            "stretch",
            "stiff",
            "flexib",
            "yoga",
            "mobility",
            "posture",
            "back",
            "neck",
            "shoulder",
            "hamstring",
            "tight",
            "limber",
            "bendy",
        ),
        (
            _idea(
                "do three slow cat-cow stretches on your hands and knees",
                "do eight slow cat-cow stretches on your hands and knees",
                "do cat-cow stretches for two minutes, then rest in child's pose",
                suits="back spine stiff lower pain sore ache",
                avoid="knee",
            ),
            _idea(
                "lie on your back and hug your knees to your chest for 30 seconds",
                "lie on your back and hug your knees to your chest for one minute",
                "lie on your back, hug your knees and rock gently side to side for two minutes",
                suits="back spine stiff lower pain sore ache",
                avoid="knee",
            ),
            _idea(
                "roll your shoulders back five times",
                "roll your shoulders and tilt your head gently side to side for one minute",
                "do two minutes of slow shoulder rolls and gentle neck tilts",
                suits="neck shoulder screen desk computer posture tension headache",
            ),
            _idea(
                "reach up tall and stretch for 30 seconds",
                "reach up tall, then bend gently side to side for one minute",
                "do a slow two-minute stretch from your neck down to your calves",
                suits="stiff morning wake flexib whole body",
            ),
            _idea(
                "stretch your calves against a wall for 30 seconds",
                "stretch your calves and hamstrings for one minute",
                "stretch your calves, hamstrings and hips for two minutes",
                suits="leg calf calves hamstring run hip tight",
                avoid="back spine",
            ),
        ),
        "Stretching it is, a kind choice for your body.",
    ),
    Area(
        "water",
        "drinking water",
        ("water", "hydrat", "dehydrat", "thirst", "drink", "sip"),
        (
            _idea(
                "take a few sips of water",
                "drink a full glass of water",
                "drink a big glass of water and refill your bottle",
                suits="water thirst hydrat headache energy",
            ),
            _idea(
                "fill your water bottle and take a sip",
                "fill your water bottle and drink a few big gulps",
                "fill your water bottle and drink half of it",
                suits="work desk bottle day",
            ),
        ),
        "Drinking water, simple and it adds up.",
    ),
    Area(
        "eat",
        "eating better",
        (
            "eat",
            "food",
            "fruit",
            "veg",
            "diet",
            "nutri",
            "snack",
            "sugar",
            "meal",
            "cook",
            "junk",
            "healthier food",
            "salad",
            "weight",
            "portion",
        ),
        (
            _idea(
                "put one slice of fruit on your plate",
                "put one piece of fruit on your plate",
                "put a piece of fruit and a vegetable on your plate",
                suits="fruit snack sugar sweet healthier diet",
            ),
            _idea(
                "add one cherry tomato or carrot stick to your meal",
                "add a handful of vegetables to your meal",
                "fill half your plate with vegetables",
                suits="veg vegetable healthier diet weight meal",
            ),
            _idea(
                "take one slow bite and notice the taste",
                "put your fork down between bites for one minute",
                "eat the first two minutes of your meal slowly, fork down between bites",
                suits="slow fast mindful overeat full weight stomach digest portion",
            ),
        ),
        "Eating better, a good one to grow.",
    ),
    Area(
        "sleep",
        "sleeping better",
        ("sleep", "bed", "insomnia", "wind down", "winding down", "rest", "night", "tired"),
        (
            _idea(
                "put your phone face down and take two slow breaths",
                "put your phone away and take five slow breaths",
                "put your phone in another room and take ten slow breaths",
                suits="phone screen scroll late awake",
            ),
            _idea(
                "dim the lights for 30 seconds",
                "dim the lights for one minute",
                "dim the lights and sit quietly for two minutes",
                suits="wind calm relax light",
            ),
            _idea(
                "jot down one thing on your mind",
                "write down tomorrow's top task and one worry",
                "write down tomorrow's plan and anything on your mind, for two minutes",
                suits="mind worry thought racing busy overthink",
            ),
        ),
        "Sleeping better, that helps with everything else.",
    ),
    Area(
        "stress",
        "easing stress",
        (
            "stress",
            "calm",
            "anx",
            "relax",
            "medit",
            "mindful",
            "breath",
            "breathing",
            "overwhelm",
            "worry",
            "tension",
            "peace",
            "mental",
            "mind",
            "mood",
            "panic",
            "burnout",
        ),
        (
            _idea(
                "take one slow, deep breath",
                "take three slow, deep breaths",
                "take ten slow, deep breaths",
                suits="stress breath calm anx tension work",
            ),
            _idea(
                "close your eyes for 30 quiet seconds",
                "close your eyes for one quiet minute",
                "close your eyes for two quiet minutes",
                suits="medit mindful quiet busy overwhelm",
            ),
            _idea(
                "name one thing you can see around you",
                "name five things you can see and three you can hear",
                "name five things you can see, four you can hear and three you can touch",
                suits="anx panic overwhelm worry racing",
            ),
        ),
        "Easing stress, a good place to start.",
    ),
    Area(
        "read",
        "reading",
        ("read", "book", "novel", "page", "kindle", "library", "poem", "poetry"),
        (
            _idea(
                "read one paragraph",
                "read one page",
                "read three pages",
                suits="read book novel",
            ),
            _idea(
                "open your book and read two lines",
                "open your book at the bookmark and read for one minute",
                "open your book at the bookmark and read for two minutes",
                suits="habit start phone screen",
            ),
        ),
        "Reading, lovely.",
    ),
)
BY_LABEL = {area.label: area for area in AREAS}
WORD = re.compile(r"[a-z][a-z'-]*")


def _hits(text: str, starts: tuple[str, ...] | frozenset[str]) -> int:
    words = WORD.findall(text.lower())
    lowered = " ".join(words)
    return sum(
        1
        for s in starts
        if (" " in s and s in lowered) or any(w.startswith(s) for w in words if " " not in s)
    )


def area_of(text: str) -> Area | None:
    """The area the words point to most ('I want to stretch, my back is stiff' →
    stretching); None for something else."""
    if text.strip().lower() in BY_LABEL:
        return BY_LABEL[text.strip().lower()]
    scores = [(_hits(text, area.words), -i, area) for i, area in enumerate(AREAS)]
    best = max(scores, key=lambda s: (s[0], s[1]))
    return best[2] if best[0] > 0 else None


def _pick_index(n: int, seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") % n


def idea_for(area: Area, reasons: str, seed: str) -> Idea:
    """The idea that suits their reasons best and none of them rules out; among equals, a
    stable pick per participant."""
    allowed = [idea for idea in area.ideas if not _hits(reasons, idea.avoid)] or list(area.ideas)
    scored = [(_hits(reasons, idea.suits), idea) for idea in allowed]
    top = max(score for score, _ in scored)
    best = [idea for score, idea in scored if score == top]
    return best[_pick_index(len(best), seed)]


def action(habit: str, reasons: str, level: str, seed: str) -> str:
    """The habit as one thing to do at this size: 'do eight slow cat-cow stretches on your
    hands and knees', or, for something else, 'spend one minute practicing the guitar'."""
    size = LEVELS.index(level) if level in LEVELS else 1
    area = area_of(habit)
    if area is not None:
        return idea_for(area, f"{habit} {reasons}", seed).sizes[size]
    phrase = habit_phrase(habit) or "on your habit"
    return f"spend {MINUTES[size]} {phrase}"


# For tests and tools that read sizes back from a prompt: every action, by area.
ACTIONS: list[tuple[tuple[str, ...], list[tuple[str, str, str]]]] = [
    (area.words, [idea.sizes for idea in area.ideas]) for area in AREAS
]
