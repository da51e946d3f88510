"""The offline coach's reply styling by tone tag, on its own."""

from __future__ import annotations

from promptpipe_agent.offline_model import QUESTIONS
from promptpipe_agent.offline_style import styled


def test_no_tags_change_nothing() -> None:
    text = "Got it. What helped you make it happen? 🎉"
    assert styled(text, [], QUESTIONS) == text


def test_one_question_at_a_time_keeps_the_last_question() -> None:
    text = "Did it work? Great. What time suits you best?"
    assert styled(text, ["one_question_at_a_time"], QUESTIONS) == "Great. What time suits you best?"


def test_no_emojis_strips_them() -> None:
    assert styled("Well done! 🎉 See you tomorrow 👋", ["no_emojis"], QUESTIONS) == (
        "Well done! See you tomorrow"
    )


def test_concise_shortens_questions_and_drops_filler() -> None:
    text = f"Thanks! {QUESTIONS['barrier'][0]}"
    assert styled(text, ["concise"], QUESTIONS) == "What got in the way?"
