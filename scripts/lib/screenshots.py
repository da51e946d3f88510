"""Takes the simulator's screenshots for docs/screenshots/ against the running stack, by
driving the real app with keys as a person would: three personas (two of them greeting
the coach, so the sidebar shows unread counts), one taken through intake, a day's jump
(F9) with the event log open, alt+1 on the prompt's Done and an answer typed after it,
one event in full, the help; then the same participant at 80x24 with the inspector.
SIM_DELIVERY_URL, SIM_MOCK_WA_URL and SIM_AGENT_URL point it at a stack on other ports
(a private one, say)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.widgets.chat import Bubble, ReplyButton
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


async def until(pilot, what: str, condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise SystemExit(f"not in time: {what}. Is the stack running (./scripts/up)?")


def quiet(app: SimulatorApp) -> None:
    app.clear_notifications()
    app.query_one("#composer").cursor_blink = False  # type: ignore[attr-defined]


async def main() -> None:
    settings = Settings()
    app = SimulatorApp(Backend(settings), poll_seconds=0.3, personas=PersonaFactory())
    async with app.run_test(size=(140, 42)) as pilot:
        for _ in range(3):
            await pilot.press("ctrl+n")
            await pilot.pause(0.5)
        await until(
            pilot, "three enrolled", lambda: len(app.participants) >= 3 and app.selected is not None
        )
        assert app.selected is not None
        me = app.selected
        for other in app.participants:
            if other.id != me.id:  # their answers wait unread in the sidebar
                app.send_text(other.phone_number, "Hello!")
        answer = "Hello!"
        for _ in range(10):
            count = len(app.query(Bubble))
            await pilot.press(*answer, "enter")
            await until(
                pilot, "the coach's answer", lambda c=count: len(app.query(Bubble)) >= c + 2
            )
            state = await app.backend.conversation(me.id)
            if state and state.get("state") == "FEEDBACK":
                break
            question = (await app.backend.chat(me.phone_number))[-1].text
            answer = next(
                (say for when, say in ANSWERS if re.search(when, question)), "Sounds good"
            )
        await pilot.press("f2")
        await pilot.pause(1.5)
        quiet(app)
        app.save_screenshot("intake.svg", str(OUT))

        await pilot.press("f2", "f5")
        count = len(app.query(Bubble))
        await pilot.press("f9")
        await until(pilot, "the next day's messages", lambda: len(app.query(Bubble)) > count)
        await until(pilot, "a prompt with buttons", lambda: bool(app.query(ReplyButton)))
        await pilot.pause(6)  # the day's messages arrive one after the other
        await pilot.press("alt+1")  # Done on the latest prompt, then the answer, typed

        def tapped() -> bool:
            row = app.pane.chat.latest_with_choices()
            return row is not None and row.answer is not None

        await until(pilot, "the tap", tapped)
        await pilot.pause(2)
        await pilot.press(*"the mat next to the coffee machine")
        await pilot.pause(1)
        quiet(app)
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
        await pilot.pause(0.3)
        await pilot.press("f1")
        await pilot.pause(0.8)
        app.save_screenshot("help.svg", str(OUT))

    small = SimulatorApp(Backend(settings), poll_seconds=0.3, personas=PersonaFactory())
    async with small.run_test(size=(80, 24)) as pilot:
        await until(pilot, "the sidebar", lambda: any(p.id == me.id for p in small.participants))
        small.select(next(p for p in small.participants if p.id == me.id))
        await until(pilot, "the chat", lambda: len(small.query(Bubble)) > 2)
        await pilot.press("f2")
        await until(pilot, "the inspector", lambda: "Last turn" in small.inspector.shown)
        await pilot.pause(1)
        quiet(small)
        small.save_screenshot("small-terminal.svg", str(OUT))
    print(f"screenshots written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
