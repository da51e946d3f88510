"""The scenario format: parsing, checks with clear errors, includes, and reply matching."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.core.scenario import (
    ACTIONS,
    ScenarioError,
    load,
    parse,
    parse_duration,
    scenario_files,
)
from promptpipe_simulator.core.steps import HANDLERS
from promptpipe_simulator.core.steps.expectations import mismatches
from promptpipe_simulator.core.timetravel import next_local, seconds_until

SHIPPED = Path(__file__).resolve().parents[1] / "scenarios"


def test_every_shipped_scenario_parses() -> None:
    files = scenario_files([SHIPPED])
    assert len(files) >= 10
    for path in files:
        scenario = load(path)
        assert scenario.steps and scenario.description


def test_every_action_of_the_format_has_one_handler() -> None:
    assert sorted(HANDLERS) == sorted(ACTIONS)


def test_shorthands_become_mappings_with_defaults() -> None:
    scenario = parse(
        {
            "steps": [
                {"send": "Hi"},
                {"expect_reply": {"matches": r"\?"}},
                "pause",
                {"advance": "5h"},
                {"advance": {"to_job": "daily_prompt"}},
                {"expect_no_message": "2s"},
            ]
        }
    )
    send, reply, pause, by, to_job, silence = scenario.steps
    assert send.args == {"text": "Hi"} and send.actor == "participant"
    assert reply.args["within"] == "15s"
    assert pause.action == "pause" and pause.args == {}
    assert by.args == {"by": "5h"}
    assert to_job.args["offset"] == "30s"
    assert silence.args == {"within": "2s"}


@pytest.mark.parametrize(
    ("steps", "complaint"),
    [
        ([{"shout": "Hi"}], "exactly one action"),
        ([{"send": "Hi", "tap": "Done"}], "exactly one action"),
        ([{"send": ""}], "non-empty"),
        ([{"advance": "soon"}], "not a duration"),
        ([{"advance": {"to": "at 8"}}], "not a local time"),
        ([{"expect_reply": {"matches": "("}}], "expect_reply"),
        ([{"expect_status": "seen"}], "status must be"),
        ([{"fault": {"agent": "sideways"}}], "agent"),
        ([{"restart": "postgres"}], "service must be"),
        ([{"expect_reply": {"colour": "blue"}}], "does not know"),
    ],
)
def test_mistakes_are_reported_with_the_step(steps: list[object], complaint: str) -> None:
    with pytest.raises(ScenarioError, match="step 1") as caught:
        parse({"steps": steps})
    assert complaint in str(caught.value)


def test_several_participants_need_as() -> None:
    data = {"participants": {"ada": {}, "bob": {}}, "steps": [{"send": "Hi"}]}
    with pytest.raises(ScenarioError, match="as:"):
        parse(data)
    data["steps"] = [{"send": "Hi", "as": "bob"}]
    assert parse(data).steps[0].actor == "bob"
    data["steps"] = [{"send": "Hi", "as": "carol"}]
    with pytest.raises(ScenarioError, match="names no participant"):
        parse(data)


def test_includes_are_spliced_and_fragments_are_not_scenarios(tmp_path: Path) -> None:
    (tmp_path / "_hello.yaml").write_text("- send: Hello!\n- expect_reply: {}\n")
    (tmp_path / "main.yaml").write_text(
        "participants: {ada: {}, bob: {}}\n"
        "steps:\n  - include: _hello.yaml\n    as: bob\n  - {send: Bye, as: ada}\n"
    )
    assert scenario_files([tmp_path]) == [tmp_path / "main.yaml"]
    steps = load(tmp_path / "main.yaml").steps
    assert [(s.number, s.action, s.actor) for s in steps] == [
        (1, "send", "bob"),
        (2, "expect_reply", "bob"),
        (3, "send", "ada"),
    ]


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("2h30m") == 9000
    assert parse_duration("1d") == 86400
    assert parse_duration(5) == 5
    with pytest.raises(ValueError):
        parse_duration("5 hours")


def test_next_local_time_is_in_the_participants_zone() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo
    assert next_local(now, "Asia/Tokyo", 8, 0) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert next_local(now, "Europe/London", 13, 30) == datetime(2026, 3, 1, 13, 30, tzinfo=UTC)


def _message(**fields: object) -> ChatMessage:
    data = {"id": "wamid.1", "direction": "outbound", "type": "text", "text": "", **fields}
    return ChatMessage.model_validate(data)


def test_reply_matching_explains_every_difference() -> None:
    prompt = _message(
        type="interactive",
        text="Did you do it?",
        interactive={"type": "button", "buttons": [{"id": "done", "title": "Done"}]},
    )
    assert mismatches(prompt, {"matches": r"\?", "buttons": ["Done"]}) == []
    reasons = mismatches(prompt, {"matches": "habit", "buttons": ["Done", "Next time"]})
    assert len(reasons) == 2
    assert "does not match" in reasons[0] and "['Done']" in reasons[1]

    template = _message(
        type="template",
        text="Hi Ada",
        template={"name": "habit_checkin", "parameters": ["Ada"]},
    )
    assert (
        mismatches(template, {"template": {"name": "habit_checkin", "parameters": ["A.a"]}}) == []
    )
    assert mismatches(template, {"template": {"name": "other"}})
    assert mismatches(template, {"template": {"name": "habit_checkin", "parameters": ["Bob"]}})


def test_the_headless_core_never_imports_textual() -> None:
    import importlib

    for name in [m for m in sys.modules if m.startswith("promptpipe_simulator.core")]:
        importlib.import_module(name)
    core = Path(__file__).resolve().parents[1] / "src" / "promptpipe_simulator" / "core"
    for source in core.rglob("*.py"):
        assert "textual" not in source.read_text(), f"{source.name} mentions textual"


def test_time_travel_specs() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert seconds_until("3h", now, "UTC") == 3 * 3600
    assert seconds_until("next 13:00", now, "Europe/London") == 3600
    assert seconds_until("13:00", now, "Europe/London") == 3600
    assert seconds_until("2026-03-01T14:00Z", now, "UTC") == 7200
    assert seconds_until("2026-03-01T14:00", now, "Europe/Berlin") == 3600  # their wall clock
    for bad, zone in [("soon", "UTC"), ("2026-01-01T00:00Z", "UTC"), ("next 08:00", "Mars/Base")]:
        with pytest.raises(ValueError):
            seconds_until(bad, now, zone)
