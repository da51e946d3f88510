"""The offline coach's understanding of everyday answers."""

from __future__ import annotations

import pytest

from promptpipe_agent.coach import minus_minutes, parse_time


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
        ("whenever", None),
        ("7", None),
    ],
)
def test_parse_time(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


def test_prep_time_wraps_midnight() -> None:
    assert minus_minutes("00:05", 10) == "23:55"
