"""The offline coach's reading of the participant's words: their habit's area and the
action that fits their reasons, and their words said back to them in the second person."""

from __future__ import annotations

import pytest

from promptpipe_agent import habits
from promptpipe_agent.reflect import anchor_phrase, goal_clause, habit_phrase, second_person


@pytest.mark.parametrize(
    ("why", "goal"),
    [
        ("so I feel less pain at work", "so that you feel less pain at work"),
        ("I want more energy in the afternoons", "for more energy in the afternoons"),
        ("more energy for my kids 💪", "for more energy for your kids"),
        ("to feel less stiff", "to feel less stiff"),
        ("I'd like to be fitter", "to be fitter"),
        ("my back is stiff", "because your back is stiff"),
        ("because I'm always tired", "because you're always tired"),
        ("I sit at a desk all day", "because you sit at a desk all day"),
        ("my doctor told me to", "because your doctor told you to"),
        ("so i can play with my grandkids", "so that you can play with your grandkids"),
        ("I want my back to stop hurting", "for your back to stop hurting"),
        ("back pain", "to ease back pain"),
        ("my health", "for your health"),
        ("being healthier", "because being healthier matters to you"),
        ("idk", None),
        ("🤷", None),
    ],
)
def test_a_reason_becomes_a_goal_in_the_second_person(why: str, goal: str | None) -> None:
    assert goal_clause(why) == goal


@pytest.mark.parametrize(
    ("said", "anchor"),
    [
        ("after I brush my teeth", "after you brush your teeth"),
        ("my morning coffee", "after your morning coffee"),
        ("brushing my teeth", "after brushing your teeth"),
        ("wake up", "after you wake up"),
        ("when I get home", "when you get home"),
        ("in the morning", "in the morning"),
        ("morning", "first thing in the morning"),
        ("probably after lunch", "after lunch"),
        ("dunno", None),
    ],
)
def test_an_everyday_moment_becomes_an_anchor(said: str, anchor: str | None) -> None:
    assert anchor_phrase(said) == anchor


@pytest.mark.parametrize(
    ("said", "phrase"),
    [
        ("practice the guitar", "practicing the guitar"),
        ("I want to learn Spanish", "learning Spanish"),
        ("Call my mum more", "calling your mum"),
        ("journaling", "journaling"),
        ("my plants", "on your plants"),
        ("run every day", "running"),
        ("I keep procrastinating", None),  # a sentence, not a habit: the coach asks again
    ],
)
def test_something_else_is_kept_in_their_words(said: str, phrase: str | None) -> None:
    assert habit_phrase(said) == phrase


def test_first_person_turns_into_second() -> None:
    assert second_person("I was tired and my back hurt") == "you were tired and your back hurt"
    assert second_person("I'm stiff, I am") == "you're stiff, you are"


@pytest.mark.parametrize(
    ("said", "area"),
    [
        ("I want to stretch more, my back is stiff", "stretching"),
        ("Moving more, I sit at a desk all day", "moving more"),
        ("get back into running", "moving more"),
        ("drink more water", "drinking water"),
        ("eat less junk", "eating better"),
        ("sleep better", "sleeping better"),
        ("less stress", "easing stress"),
        ("read more books", "reading"),
        ("practice the guitar", None),
    ],
)
def test_the_area_of_a_habit(said: str, area: str | None) -> None:
    found = habits.area_of(said)
    assert (found.label if found else None) == area


def test_a_sore_back_never_gets_squats() -> None:
    for seed in range(40):
        for level in habits.LEVELS:
            action = habits.action("moving more", "my back hurts", level, str(seed))
            assert "squat" not in action
            stretch = habits.action("stretching", "my back is stiff", level, str(seed))
            assert "cat-cow" in stretch or "hug your knees" in stretch
            knee = habits.action("stretching", "my back is stiff, bad knee", level, str(seed))
            assert "knee" not in knee


def test_no_action_is_part_of_another() -> None:
    # A prompt then names exactly one action, so its size can be read back from it.
    actions = [a for _, ideas in habits.ACTIONS for sizes in ideas for a in sizes]
    assert len(actions) == len(set(actions))
    for a in actions:
        assert not [b for b in actions if a != b and a in b], a
