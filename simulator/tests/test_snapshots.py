"""The look of the main screens at 80x24 (the smallest supported) and 140x42, against a
fake stack with fixed data; and that every glyph on them is one browsers can draw."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.widgets.chat import Bubble, ReplyButton
from promptpipe_simulator.tui.widgets.roster import ParticipantItem

SIZES = [(80, 24), (140, 42)]


def app_for(backend: Backend) -> SimulatorApp:
    return SimulatorApp(backend, poll_seconds=0.5, personas=PersonaFactory(seed=7))


async def wait(pilot: Any, condition: Any) -> None:
    for _ in range(100):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never got there")


async def settle(pilot: Any) -> None:
    """No toast and no blinking cursor: the picture must not depend on the moment."""
    pilot.app.clear_notifications()
    pilot.app.query_one("#composer").cursor_blink = False
    await pilot.pause(0.3)


async def a_prompt_answered(pilot: Any) -> None:
    """Enroll, ask for a prompt, tap Done with alt+1: the answered buttons show it."""
    await pilot.press("ctrl+n")
    await wait(pilot, lambda: not pilot.app.query_one("#composer").disabled)
    await pilot.press(*"prompt me", "enter")
    await wait(pilot, lambda: len(pilot.app.query(ReplyButton)) == 2)
    await pilot.press("alt+1")
    await wait(pilot, lambda: pilot.app.query(ReplyButton).first().disabled)
    # Put in at once: the picture is the same as typed, without Pilot's pause per key.
    pilot.app.query_one("#composer").insert_text_at_cursor(
        "done, with the mat by the coffee machine"
    )
    await settle(pilot)


async def a_burst_of_four(pilot: Any) -> None:
    """Four prompts with their statuses land at once (F9): each shown once, in order."""
    stack = pilot.app.fake_stack
    await pilot.press("ctrl+n")
    await wait(pilot, lambda: not pilot.app.query_one("#composer").disabled)
    phone = stack.participants[0]["phone_number"]
    texts = [
        "Quick check: how did the habit suggestion work for you? A tap or a word is fine.",
        "Time for your habit! When your phone buzzes, stand up and take 50 steps.",
        "Just checking in: did you get a chance to try your habit today?",
        "Hi there, your daily habit is waiting. Reply to let me know how it goes.",
    ]
    for n, text in enumerate(texts):
        stack.chats.setdefault(phone, []).append(
            {
                "id": f"wamid.burst{n}",
                "direction": "outbound",
                "type": "interactive",
                "text": text,
                "timestamp": f"2026-01-02T{n + 7:02d}:05:00Z",
                "status": ["read", "read", "delivered", "sent"][n],
                "interactive": {
                    "type": "button",
                    "buttons": [{"id": "done", "title": "Done"}, {"id": "n", "title": "Next time"}],
                },
            }
        )
    await wait(pilot, lambda: len(pilot.app.query(Bubble)) == 4)
    # Opening the chat reads the delivered one; on a busy machine the sidebar may have
    # polled in between and still shows it unread until its next poll.
    await wait(
        pilot, lambda: all(item.entry.unread == 0 for item in pilot.app.query(ParticipantItem))
    )
    await settle(pilot)


async def panels_open(pilot: Any) -> None:
    await pilot.press("ctrl+n")
    await wait(pilot, lambda: not pilot.app.query_one("#composer").disabled)
    await pilot.press(*"prompt me", "enter", "f2", "f5")
    await wait(
        pilot,
        lambda: len(pilot.app.query(Bubble)) == 2 and "Last turn" in pilot.app.inspector.shown,
    )
    await settle(pilot)


async def help_open(pilot: Any) -> None:
    await pilot.press("f1")
    await pilot.pause(0.3)


SCREENS = {
    "chat": a_prompt_answered,
    "burst": a_burst_of_four,
    "panels": panels_open,
    "help": help_open,
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screens(
    backend: Backend, fake_stack: Any, snap_compare: Any, screen: str, size: tuple[int, int]
) -> None:
    app = app_for(backend)
    app.fake_stack = fake_stack  # type: ignore[attr-defined]
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])


# Glyphs that monospace fonts commonly have (DejaVu Sans Mono, Menlo, Consolas): Latin-1,
# punctuation, arrows, box drawing, blocks, geometric shapes, ✓ and ✗. Not ⭘, no emoji.
BROWSER_SAFE = re.compile(
    "[\u0020-\u007e\u00a0-\u00ff\u2010-\u205e\u2190-\u21ff\u2200-\u22ff\u2500-\u25ff\u2713\u2717]"
)


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_every_glyph_is_one_a_browser_can_draw(
    backend: Backend, fake_stack: Any, screen: str
) -> None:
    app = app_for(backend)
    app.fake_stack = fake_stack  # type: ignore[attr-defined]
    async with app.run_test(size=(100, 30)) as pilot:
        await SCREENS[screen](pilot)
        svg = app.export_screenshot()
    shown = html.unescape("".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg)))
    shown = "".join(c for c in shown if not c.isspace())
    odd = {c for c in shown if not BROWSER_SAFE.match(c)}
    assert not odd, f"glyphs a browser's font may lack: {sorted(odd)}"
