"""The look of the main screens, against a fake stack with fixed data."""

from __future__ import annotations

from typing import Any

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.widgets.chat import Bubble


def app_for(backend: Backend) -> SimulatorApp:
    return SimulatorApp(
        backend, poll_seconds=0.05, personas=PersonaFactory(seed=7), show_clock=False
    )


def test_chat_screen(backend: Backend, snap_compare: Any) -> None:
    async def exchange(pilot: Any) -> None:
        await pilot.press("n")
        for _ in range(100):
            await pilot.pause(0.05)
            if not pilot.app.query_one("#composer").disabled:
                break
        await pilot.press(*"prompt me", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if len(pilot.app.query(Bubble)) == 2:
                break
        pilot.app.clear_notifications()
        # A blinking cursor would make the picture depend on the moment it is taken.
        pilot.app.query_one("#composer").cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app_for(backend), terminal_size=(100, 30), run_before=exchange)


def test_help_screen(backend: Backend, snap_compare: Any) -> None:
    assert snap_compare(app_for(backend), terminal_size=(100, 30), press=["f1"])


def test_small_terminal_with_inspector_and_events(backend: Backend, snap_compare: Any) -> None:
    """80x24, the smallest size the simulator supports, with every panel open."""

    async def everything_open(pilot: Any) -> None:
        await pilot.press("n")
        for _ in range(100):
            await pilot.pause(0.05)
            if not pilot.app.query_one("#composer").disabled:
                break
        await pilot.press(*"prompt me", "enter", "f2", "f5")
        for _ in range(100):
            await pilot.pause(0.05)
            if len(pilot.app.query(Bubble)) == 2 and "Last turn" in str(
                pilot.app.query_one("#inspector").render()
            ):
                break
        pilot.app.clear_notifications()
        pilot.app.query_one("#composer").cursor_blink = False
        await pilot.pause(0.3)

    assert snap_compare(app_for(backend), terminal_size=(80, 24), run_before=everything_open)
