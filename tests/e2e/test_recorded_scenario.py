"""A session played through the simulator's core (as the TUI plays it) is saved as a
scenario, clock jump and taps included, and the saved file replays on the same stack."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.report import TextReporter
from promptpipe_simulator.core.runner import ScenarioRunner
from promptpipe_simulator.core.scenario import load
from promptpipe_simulator.core.steps.stage import wait_until
from promptpipe_simulator.settings import Settings

pytestmark = pytest.mark.e2e


async def test_a_recorded_session_replays(clock_stack: Any, tmp_path: Path) -> None:
    stack = clock_stack
    settings = Settings(
        delivery_url=stack.url("delivery"),
        mock_wa_url=stack.url("mock_whatsapp"),
        agent_url=stack.url("agent"),
    )
    backend = Backend(settings)
    backend.start_recording()
    try:
        persona = PersonaFactory(seed=11).make()
        persona.timezone = "Europe/London"
        ada = await backend.enroll(persona)
        phone = ada.phone_number

        def coach_messages(count: int) -> Callable[[], Awaitable[list[ChatMessage] | None]]:
            async def probe() -> list[ChatMessage] | None:
                chat = await backend.chat(phone)
                outbound = [m for m in chat if m.direction == "outbound"]
                return outbound if len(outbound) >= count else None

            return probe

        async def tap(title: str) -> None:
            [*_, offer] = [m for m in await backend.chat(phone) if m.buttons]
            [button] = [b for b in offer.buttons if b["title"] == title]
            await backend.tap_button(phone, {"id": button["id"], "title": title}, offer.id)

        await backend.send_text(phone, "Hi!")
        await must(coach_messages(1), "the greeting")
        await backend.send_text(phone, "Try now")
        replies = await must(coach_messages(2), "the try-now reply")
        await backend.advance_clock("24h")  # F9
        await must(coach_messages(len(replies) + 1), "the daily prompt")
        # Its reminder may come too, depending on the time of day: let both arrive.
        replies = [m for m in await settled(backend, phone) if m.direction == "outbound"]
        assert any(m.buttons for m in replies), [m.text for m in replies]
        await tap("Done")
        await must(coach_messages(len(replies) + 1), "the reply to Done")
        await backend.set_status(ada.id, "paused")
        await backend.set_status(ada.id, "active")

        path = await backend.save_scenario(ada, tmp_path)
        scenario = load(path)
        actions = [s.action for s in scenario.steps]
        jump = scenario.steps[actions.index("advance")]
        # Anchored on the job that was next when the clock jumped: after "try now", the
        # 15-minute check-in on the habit just tried.
        assert jump.args["to_job"] == "feedback_timeout", jump.args
        assert actions.index("send") < actions.index("advance") < actions.index("tap")
        assert actions[-2:] == ["pause", "resume"]

        out = io.StringIO()
        result = await ScenarioRunner(backend, cleanup=True).run(
            scenario, TextReporter(out, verbose=True)
        )
        assert result.passed, path.read_text() + out.getvalue()
    finally:
        await backend.close()


async def must(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    value = await wait_until(probe, 20)
    assert value, f"no {what} within 20s"
    return value


async def settled(backend: Backend, phone: str) -> list[ChatMessage]:
    """The chat once no message has come for a second."""
    chat = await backend.chat(phone)
    for _ in range(20):
        await asyncio.sleep(1)
        again = await backend.chat(phone)
        if len(again) == len(chat):
            return again
        chat = again
    raise AssertionError(f"the chat kept growing: {len(chat)} messages")
