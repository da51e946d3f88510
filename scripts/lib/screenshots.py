"""Takes the simulator's screenshots for docs/screenshots/ against the running stack:
one persona through intake, a jump to the next morning's prompt with the event log open,
then the help screen. SIM_DELIVERY_URL, SIM_MOCK_WA_URL and SIM_AGENT_URL point it at a
stack on other ports (a private one, say)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.widgets.chat import Bubble

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def until(pilot, condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise SystemExit(
        f"the stack did not answer in time ({condition.__doc__ or 'waiting'}): "
        "is it running (./scripts/up)?"
    )


async def main() -> None:
    settings = Settings()
    app = SimulatorApp(Backend(settings), poll_seconds=0.3, personas=PersonaFactory())
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("n")
        await until(
            pilot, lambda: app.selected is not None and not app.query_one("#composer").disabled
        )
        for answer in ["Hello!", "moving more", "more energy", "my morning coffee", "7:30am"]:
            count = len(app.query(Bubble))
            await pilot.press(*answer, "enter")
            await until(pilot, lambda c=count: len(app.query(Bubble)) >= c + 2)
        await pilot.press("f2")
        await pilot.pause(1)
        app.save_screenshot("intake.svg", str(OUT))
        count = len(app.query(Bubble))
        await pilot.press("f5")
        await pilot.press("f9")
        await until(pilot, lambda: len(app.query(Bubble)) >= count + 1)
        await pilot.pause(1.5)
        app.save_screenshot("time-travel.svg", str(OUT))
        await pilot.press("f1")
        await pilot.pause(0.5)
        app.save_screenshot("help.svg", str(OUT))
    print(f"screenshots written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
