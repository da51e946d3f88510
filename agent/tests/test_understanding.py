"""The offline model's understanding of everyday answers."""

from __future__ import annotations

import pytest

from promptpipe_agent.understanding import (
    is_done,
    is_greeting,
    is_next_time,
    is_no,
    is_yes,
    minus_minutes,
    parse_time,
    pause_days,
    wants_easier,
    wants_harder,
    wants_new_time,
    wants_pause,
    wants_personalize,
    wants_resume,
    wants_stop,
    wants_try_now,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:30am", "07:30"),
        ("7am", "07:00"),
        ("at 19:15", "19:15"),
        ("12pm", "12:00"),
        ("12am", "00:00"),
        ("8.45 pm", "20:45"),
        ("after breakfast", "08:00"),
        ("around lunch", "12:30"),
        ("before bed", "21:30"),
        ("can you move it to 8pm?", "20:00"),
        ("whenever", None),
        ("7", None),
    ],
)
def test_parse_time(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


def test_prep_time_wraps_midnight() -> None:
    assert minus_minutes("00:05", 10) == "23:55"


@pytest.mark.parametrize("text", ["yes", "Yeah sure", "ok!", "Let's do it", "sounds good"])
def test_yes(text: str) -> None:
    assert is_yes(text) and not is_no(text)


@pytest.mark.parametrize("text", ["no", "Nope", "not now", "maybe later, no"])
def test_no(text: str) -> None:
    assert is_no(text) and not is_yes(text)


def test_done_and_next_time_are_told_apart() -> None:
    assert is_done("Done") and is_done("I did it!") and not is_next_time("Done")
    assert is_next_time("Next time") and is_next_time("I forgot") and not is_done("Next time")
    assert not is_done("I didn't")


def test_intents() -> None:
    assert wants_try_now("Try now") and wants_try_now("now please")
    assert wants_personalize("personalize it first") and not wants_personalize("try now")
    assert wants_new_time("can you change it to 8pm") and not wants_new_time("8pm")


def test_greetings() -> None:
    assert is_greeting("Hi!") and is_greeting("Good morning") and is_greeting("hello there")
    assert not is_greeting("hi, I want to move more") and not is_greeting("")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("stop", "stop"),
        ("STOP please", "stop"),
        ("unsubscribe", "stop"),
        ("I'm done with this", "stop"),
        ("stop for a week", "pause"),
        ("can we take a break?", "pause"),
        ("stop the emojis", None),  # a style, not a stop
        ("resume", "resume"),
        ("I'm back!", "resume"),
        ("Done", None),
    ],
)
def test_stop_pause_and_resume_are_told_apart(text: str, intent: str | None) -> None:
    found = [
        name
        for name, wants in (("stop", wants_stop), ("pause", wants_pause), ("resume", wants_resume))
        if wants(text)
    ]
    assert found == ([intent] if intent else [])


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("pause for a week", 7),
        ("pause for 3 days", 3),
        ("a couple of weeks off", 14),
        ("away for the weekend", 2),
        ("pause please", None),
    ],
)
def test_how_long_a_pause_is(text: str, days: int | None) -> None:
    assert pause_days(text) == days


def test_done_with_typos_and_emoji_but_not_a_stop() -> None:
    assert all(is_done(t) for t in ["donee", "did it!! 💪", "✅", "dnoe", "just did it"])
    assert not is_done("I'm done with this") and not is_done("didn't do it")


def test_easier_and_harder() -> None:
    assert wants_easier("can u make it eaiser") and wants_easier("this is too hard 😩")
    assert wants_harder("too easy tbh") and wants_harder("step it up")
    assert not wants_easier("too easy") and not wants_harder("too hard")
