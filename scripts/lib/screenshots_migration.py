"""Takes the migration screen's and the dashboard's screenshots for docs/screenshots/
against a running stack with the candidate (./scripts/up --candidate --monitoring),
driving the real app with its keys: four personas greet the coach and start the intake
with shadow mode on (alt+s), a rollout starts (alt+r) and takes a step (F7), the
candidate breaks (alt+k) while its participants write, the rollout rolls back by itself;
then the migration screen (F11) and, after a few samples, the dashboard (F12).
SIM_DELIVERY_URL, SIM_MOCK_WA_URL, SIM_AGENT_URL, SIM_AGENT_CANDIDATE_URL and
SIM_PROMETHEUS_URL point it at a stack on other ports."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.screens.dashboard import DashboardScreen
from promptpipe_simulator.tui.screens.migration import MigrationScreen

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def until(pilot: Any, what: str, condition: Any, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise SystemExit(f"not in time: {what}. Is the stack running (./scripts/up --candidate)?")


async def say_all(app: SimulatorApp, pilot: Any, text: str) -> None:
    """Every participant says `text`; returns once each has had an answer."""
    backend = app.backend
    counts = {}
    for p in app.participants:
        counts[p.phone_number] = len(await backend.chat(p.phone_number))
        await backend.send_text(p.phone_number, text)
    for p in app.participants:
        for _ in range(300):
            chat = await backend.chat(p.phone_number)
            if len(chat) >= counts[p.phone_number] + 2:
                break
            await pilot.pause(0.1)


async def main() -> None:
    app = SimulatorApp(Backend(Settings()), poll_seconds=0.3, personas=PersonaFactory(seed=7))
    async with app.run_test(size=(140, 42)) as pilot:
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause(0.5)
        await until(pilot, "four enrolled", lambda: len(app.participants) >= 4)
        await pilot.press("alt+s")
        await pilot.pause(1)
        for text in ("Hello!", "personalize"):
            await say_all(app, pilot, text)
        # The dashboard while the rollout climbs: its keys are the migration's and the clock's.
        await pilot.press("f12")
        await until(pilot, "the dashboard", lambda: isinstance(app.screen, DashboardScreen))
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        await pilot.press("alt+r")
        for text in ("moving more", "I want more energy"):
            await say_all(app, pilot, text)
            await pilot.pause(2)
        await pilot.press("f7")
        for text in ("my morning coffee", "7:30am", "nothing else"):
            await pilot.pause(2)
            await say_all(app, pilot, text)
        await until(pilot, "samples", lambda: len(dashboard.history.values("percent")) >= 12)
        app.clear_notifications()
        await pilot.pause(0.3)
        app.save_screenshot("dashboard.svg", str(OUT))
        # The candidate breaks; its participants get the fallback; the rollout rolls back.
        await pilot.press("alt+k")
        await pilot.pause(1)
        await say_all(app, pilot, "Done")
        await pilot.pause(2)
        await pilot.press("escape")
        await pilot.pause(0.5)
        await pilot.press("f11")
        await until(pilot, "the migration screen", lambda: isinstance(app.screen, MigrationScreen))
        screen = app.screen
        assert isinstance(screen, MigrationScreen)
        await until(
            pilot,
            "the halt",
            lambda: screen.report is not None and screen.report.status == "halted",
        )
        await pilot.pause(1.5)
        app.clear_notifications()
        await pilot.pause(0.3)
        app.save_screenshot("migration.svg", str(OUT))
        # Leave the stack as found: the candidate mended, shadow off.
        await pilot.press("alt+k")
        await pilot.pause(0.5)
        await pilot.press("alt+s")
        await pilot.pause(0.5)
    print(f"wrote {OUT / 'migration.svg'} and {OUT / 'dashboard.svg'}")


if __name__ == "__main__":
    asyncio.run(main())
