"""Takes the simulator's screenshots for docs/screenshots/ against the running stack:
three personas (two of them greeting the coach, so the sidebar shows unread counts), one
taken through intake, a jump to the next morning's prompt with the event log open, one
event in full, then the help screen. SIM_DELIVERY_URL, SIM_MOCK_WA_URL and SIM_AGENT_URL
point it at a stack on other ports (a private one, say)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.widgets.chat import Bubble
from promptpipe_simulator.tui.widgets.events import EventLog

# The coach's questions during intake, and what the persona answers (as the shipped
# intake scenarios do), so the screenshots follow the agent's flow as it is today.
ANSWERS = [
    (r"(?i)personali[sz]e", "Personalize"),
    (r"(?i)what time|which time|when should|time of day", "7:30am"),
    (r"(?i)come after|follow something|everyday moment|anchor|remind you", "my morning coffee"),
    (r"(?i)\bwhy\b|matter|better for you|motivat", "more energy for my kids"),
    (r"(?i)anything else", "No, that's all"),
    (r"(?i)try .*(now|today)", "Yes"),
    (r"(?i)habit|part of your day", "moving more"),
]

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
        for _ in range(2):
            app.enroll_persona(select=False)
        await until(pilot, lambda: len(app.participants) >= 3)
        assert app.selected is not None
        for other in app.participants:
            if other.id != app.selected.id:  # their answers wait unread in the sidebar
                app.send_text(other.phone_number, "Hello!")
        answer = "Hello!"
        for _ in range(10):
            count = len(app.query(Bubble))
            await pilot.press(*answer, "enter")
            await until(pilot, lambda c=count: len(app.query(Bubble)) >= c + 2)
            state = await app.backend.conversation(app.selected.id)
            if state and state.get("state") == "FEEDBACK":
                break
            question = (await app.backend.chat(app.selected.phone_number))[-1].text
            answer = next(
                (say for when, say in ANSWERS if re.search(when, question)), "Sounds good"
            )
        await pilot.press("f2")
        await pilot.pause(1)
        app.save_screenshot("intake.svg", str(OUT))
        count = len(app.query(Bubble))
        await pilot.press("f5")
        await pilot.press("f9")
        await until(pilot, lambda: len(app.query(Bubble)) >= count + 1)
        await pilot.pause(1.5)
        app.save_screenshot("time-travel.svg", str(OUT))
        log = app.query_one(EventLog)
        log.focus()
        texts = log.texts()
        webhooks = [i for i, t in enumerate(texts) if "→ delivery 200" in t]
        log.highlighted = webhooks[-1] if webhooks else len(texts) - 1
        await pilot.press("enter")
        await pilot.pause(0.5)
        app.save_screenshot("event-details.svg", str(OUT))
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause(0.5)
        app.save_screenshot("help.svg", str(OUT))
    print(f"screenshots written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
