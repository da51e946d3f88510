"""The load driver on a private stack, tiny: correctness only (every message answered
once, latencies measured), not speed; `simulator load` is the tool for figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.load import SCRIPT, run_load
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings

pytestmark = pytest.mark.e2e


async def test_three_participants_through_the_intake(make_stack: Callable[..., Any]) -> None:
    stack = make_stack()
    backend = Backend(
        Settings(
            delivery_url=stack.url("delivery"),
            mock_wa_url=stack.url("mock_whatsapp"),
            agent_url=stack.url("agent"),
        )
    )
    messages = len(SCRIPT) + 1  # the whole intake, then one message in FEEDBACK
    try:
        report = await run_load(backend, 3, messages, personas=PersonaFactory(seed=4))
        participants = await backend.participants()
        states = [(await backend.conversation(p.id) or {}).get("state") for p in participants]
    finally:
        await backend.close()
    assert report.ok, report.render()
    assert report.sent == 3 * messages
    assert len(report.latencies) == 3 * messages
    assert all(0 < seconds < 30 for seconds in report.latencies)
    assert states == ["FEEDBACK"] * 3
