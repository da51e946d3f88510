"""Saving a session as a scenario: the chat, and the simulator's own actions in place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import ChatMessage, Participant
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.recorder import (
    Mark,
    clock_jump_step,
    format_duration,
    scenario_from_chat,
)
from promptpipe_simulator.core.scenario import load, parse

ADA = Participant(
    id="p_1", phone_number="15551230000", name="Ada", status="active", timezone="Europe/London"
)


def message(direction: str, text: str, **fields: Any) -> ChatMessage:
    data = {"id": f"wamid.{text}", "direction": direction, "type": "text", "text": text}
    return ChatMessage.model_validate({**data, **fields})


def test_actions_go_between_the_messages_they_came_between() -> None:
    buttons = {"type": "button", "buttons": [{"id": "d", "title": "Done"}]}
    chat = [
        message("inbound", "Hello!"),
        message("outbound", "Try it now?"),
        message("inbound", "Try now", type="interactive"),
        message("outbound", "Great."),
        message("outbound", "Time to move!", type="interactive", interactive=buttons),
        message("inbound", "👍", type="reaction", reaction={"emoji": "👍"}),
    ]
    marks = [
        Mark(4, {"advance": {"to_job": "daily_prompt", "offset": "1m"}}),
        Mark(6, "pause"),
        Mark(6, "resume"),
    ]
    scenario = scenario_from_chat(ADA, chat, marks)
    assert scenario["participants"] == {"participant": {"name": "Ada", "timezone": "Europe/London"}}
    assert scenario["steps"] == [
        {"send": "Hello!"},
        {"expect_reply": {"matches": r"\?"}},
        {"tap": "Try now"},
        {"expect_reply": {}},
        {"advance": {"to_job": "daily_prompt", "offset": "1m"}},
        {"expect_reply": {"buttons": ["Done"]}},
        {"react": "👍"},
        "pause",
        "resume",
    ]
    parse(scenario)  # a valid scenario


def test_a_clock_jump_is_written_relative_to_the_next_job() -> None:
    prompt_at = datetime(2026, 1, 2, 7, 20, tzinfo=UTC)
    past_it = datetime(2026, 1, 2, 8, 0, 30, tzinfo=UTC)
    assert clock_jump_step(86400, past_it, ("daily_prompt", prompt_at)) == {
        "advance": {"to_job": "daily_prompt", "offset": "40m30s"}
    }
    short_of_it = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert clock_jump_step(600, short_of_it, ("daily_prompt", prompt_at)) == {
        "advance": {"to_job": "daily_prompt", "offset": "-19h20m"}
    }
    assert clock_jump_step(5 * 3600, short_of_it, None) == {"advance": "5h"}
    assert format_duration(90061) == "1d1h1m1s"
    assert format_duration(0) == "0s"


async def test_the_backend_notes_clock_jumps_pauses_and_faults(
    backend: Backend, fake_stack: Any, tmp_path: Path
) -> None:
    fake_stack.agent_fault = {"mode": "ok"}
    backend.start_recording()
    ada = await backend.enroll(PersonaFactory(seed=2).make())
    await backend.send_text(ada.phone_number, "Hello!")
    await backend.advance_clock("1h")  # the fake's clock says 12:00, its prompt is at 07:20
    await backend.set_agent_fault("down")
    await backend.send_text(ada.phone_number, "prompt me")
    await backend.set_status(ada.id, "paused")
    await backend.set_status(ada.id, "active")

    path = await backend.save_scenario(ada, tmp_path)
    steps = [(s.action, s.args) for s in load(path).steps]
    assert steps == [
        ("send", {"text": "Hello!"}),
        ("expect_reply", {"within": "15s"}),
        ("advance", {"to_job": "daily_prompt", "offset": "-19h20m"}),
        ("fault", {"agent": "down"}),
        ("send", {"text": "prompt me"}),
        ("expect_reply", {"buttons": ["Done", "Next time"], "within": "15s"}),
        ("pause", {}),
        ("resume", {}),
    ]


async def test_without_recording_nothing_is_noted(backend: Backend, fake_stack: Any) -> None:
    ada = await backend.enroll(PersonaFactory(seed=2).make())
    await backend.send_text(ada.phone_number, "Hello!")
    await backend.advance_clock("1h")
    scenario = await backend.recorded_scenario(ada)
    assert [next(iter(s)) for s in scenario["steps"]] == ["send", "expect_reply"]


async def test_ctrl_s_in_the_app_saves_the_time_travel_too(
    backend: Backend, fake_stack: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from promptpipe_simulator.tui.app import SimulatorApp

    monkeypatch.chdir(tmp_path)  # the app saves under ./scenarios
    app = SimulatorApp(backend, poll_seconds=0.5, personas=PersonaFactory(seed=1))  # test_app.py
    async with app.run_test(size=(100, 30)) as pilot:

        async def until(condition: Callable[[], object]) -> None:
            for _ in range(100):
                if condition():
                    return
                await pilot.pause(0.05)
            raise AssertionError("condition not reached in time")

        await pilot.press("ctrl+n")
        await until(lambda: app.selected)
        await pilot.press(*"Hello!", "enter")
        await until(lambda: fake_stack.sent)
        await pilot.press("f8")  # +5h
        await until(lambda: fake_stack.clock_offset)
        await pilot.press("ctrl+s")
        await until(lambda: list(tmp_path.glob("scenarios/*.yaml")))
    [saved] = tmp_path.glob("scenarios/recorded-*.yaml")
    steps = [(s.action, s.args) for s in load(saved).steps]
    assert steps == [
        ("send", {"text": "Hello!"}),
        ("expect_reply", {"within": "15s"}),
        # The fake's clock stands at 12:00 and its participant's prompt at 07:20.
        ("advance", {"to_job": "daily_prompt", "offset": "-19h20m"}),
    ]
