"""The TUI's behaviour, driven with Pilot against a fake stack."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Button, Input, ListView, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.scenario import load
from promptpipe_simulator.tui import keys
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.screens.ask import AskScreen
from promptpipe_simulator.tui.screens.confirm import ConfirmScreen
from promptpipe_simulator.tui.screens.help import HelpScreen
from promptpipe_simulator.tui.stack_time import StackClock
from promptpipe_simulator.tui.widgets.chat import (
    TICKS,
    Bubble,
    BubbleRow,
    ChatView,
    ReplyButton,
    bubble_markup,
)
from promptpipe_simulator.tui.widgets.events import EventLog, describe_delivery_event
from promptpipe_simulator.tui.widgets.inspector import Inspector
from promptpipe_simulator.tui.widgets.roster import ParticipantItem, row_markup

UTC_CLOCK = StackClock()


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until `condition` holds; polling, so a slow machine only waits longer."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


# The app polls the fake stack as often as it polls a real one. Faster would not make the
# tests faster: Pilot waits after each key until the app is idle, and an app polling
# every 50 ms is never idle for long, so each key then cost up to a second.
POLL_SECONDS = 0.5


def app_for(backend: Backend) -> SimulatorApp:
    return SimulatorApp(backend, poll_seconds=POLL_SECONDS, personas=PersonaFactory(seed=1))


@pytest.fixture
def streaming(fake_stack: Any) -> Any:
    """The stack with delivery's event feed on too (the mock's stream always is)."""
    fake_stack.delivery_events = []
    return fake_stack


async def enrolled(app: SimulatorApp, pilot: Any) -> None:
    await pilot.press("ctrl+n")
    await until(pilot, lambda: not app.query_one("#composer", Input).disabled)


async def say(pilot: Any, text: str) -> None:
    """Send `text` from the composer, put in at once: for tests about something else than
    typing (Pilot waits for an idle app after each key it presses)."""
    pilot.app.query_one("#composer", Input).insert_text_at_cursor(text)
    await pilot.press("enter")


def notices(app: SimulatorApp, title: str = "") -> list[str]:
    return [n.message for n in app._notifications if title in (n.title or "")]


def coach_says(fake_stack: Any, phone: str, ident: str, text: str, **more: Any) -> None:
    fake_stack.chats.setdefault(phone, []).append(
        {
            "id": ident,
            "direction": "outbound",
            "type": "text",
            "text": text,
            "timestamp": "2026-01-01T12:00:05Z",
            "status": "read",
            **more,
        }
    )


async def test_enroll_then_chat(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 1)
        assert len(fake_stack.participants) == 1
        composer = app.query_one("#composer", Input)
        await until(pilot, lambda: not composer.disabled and composer.has_focus)
        await pilot.press(*"Hello!", "enter")
        await until(pilot, lambda: len(app.query(Bubble)) == 2)
        phone = fake_stack.participants[0]["phone_number"]
        assert fake_stack.sent == [(phone, "Hello!")]
        texts = [b.message.text for b in app.query(Bubble)]
        assert texts == ["Hello!", "Coach: you said Hello!"]
        assert composer.value == ""


async def test_network_errors_notify_and_the_app_keeps_working(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.down = True
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: any("not reachable" in n for n in notices(app)))
        await pilot.press("ctrl+n")  # enrolling while down: another notification, no crash
        await pilot.pause(0.2)
        fake_stack.down = False
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(fake_stack.participants) == 1)
        assert app.is_running


# --- the key model: letters type, never act -------------------------------------------


async def test_typing_after_a_tap_lands_in_the_composer_and_changes_nothing(
    backend: Backend, streaming: Any
) -> None:
    """The issue's accident: after tapping with the keyboard, the answer typed next ran
    shortcuts (a: agent slow, n: enroll, t: time travel). Now every letter types."""
    streaming.agent_fault = {"mode": "ok", "delay_seconds": 0}
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press(*"prompt me", "enter")
        await until(pilot, lambda: len(app.query(ReplyButton)) == 2)
        done = app.query(ReplyButton).first()
        done.focus()
        await pilot.press("enter")  # tap Done with the keyboard
        await until(pilot, lambda: bool(streaming.taps))
        composer = app.query_one("#composer", Input)
        await until(pilot, lambda: composer.has_focus)
        answer = "having the mat next to the coffee machine? antwn iqrwf"
        await pilot.press(*answer)
        assert composer.value == answer
        # Focus elsewhere (the sidebar, the log): letters still type, into the composer.
        app.query_one("#participants", ListView).focus()
        await pilot.press(*"ok")
        assert composer.value == answer + "ok" and composer.has_focus
        await pilot.pause(0.3)
        assert streaming.agent_fault == {"mode": "ok", "delay_seconds": 0}
        assert streaming.whatsapp_faults == []
        assert len(streaming.participants) == 1
        assert streaming.clock_offset == 0
        assert len(streaming.taps) == 1
        assert app.screen is app.screen_stack[0]  # no dialog opened either


def test_alt_digits_from_any_terminal_are_chords() -> None:
    """ESC 1 (xterm, tmux, a browser) and CSI u (kitty's protocol) both mean alt+1."""
    import time

    from textual._xterm_parser import XTermParser

    keys.read_alt_digits_as_chords()
    for sent in ("\x1b1", "\x1b[49;3u"):
        parser = XTermParser()
        found = list(parser.feed(sent))
        time.sleep(0.15)  # a lone ESC waits a moment for what follows
        found += list(parser.tick())
        assert [getattr(k, "key", None) for k in found] == ["alt+1"], sent


async def test_no_binding_is_a_bare_printable_key() -> None:
    for binding in keys.BINDINGS:
        for key in binding.key.split(","):
            assert "+" in key or key.startswith("f"), f"{key} would act where people type"


async def test_world_commands_are_in_the_palette_and_the_help_only(backend: Backend) -> None:
    """World save/load/list/delete have no key (they replace the whole stack): the
    palette and the help list them from the same table."""
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {c.description for c in keys.COMMANDS} <= titles
        assert all(hasattr(app, f"action_{c.action}") for c in keys.COMMANDS)
        assert not {c.action for c in keys.COMMANDS} & {b.action for b in keys.BINDINGS}
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        console = Console(width=200, record=True)
        for static in app.screen.query(Static):
            console.print(static.content)
        text = " ".join(console.export_text().split())
        assert "Worlds" in text
        for command in keys.COMMANDS:
            assert f"ctrl+p {command.tooltip}" in text


async def test_the_enroll_button_is_out_of_the_tab_order(backend: Backend) -> None:
    """Shift+Tab then Enter enrolled a persona by accident."""
    app = app_for(backend)
    async with app.run_test(size=(100, 30)):
        assert not app.query_one("#enroll", Button).focusable


async def test_alt_digits_tap_the_latest_buttons_once(backend: Backend, streaming: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        phone = streaming.participants[0]["phone_number"]
        await pilot.press(*"prompt me", "enter")
        await until(pilot, lambda: len(app.query(ReplyButton)) == 2)
        await pilot.press(*"prompt me", "enter")  # a second prompt: the latest one
        await until(pilot, lambda: len(app.query(ReplyButton)) == 4)
        await pilot.press("alt+2")
        await until(pilot, lambda: bool(streaming.taps))
        assert streaming.taps == [(phone, "next_time", "wamid.out2")]
        # The tap arrives in the chat, answering its message.
        streaming.chats[phone].append(
            {
                "id": "wamid.tap",
                "direction": "inbound",
                "type": "interactive",
                "text": "Next time",
                "timestamp": "2026-01-01T12:00:03Z",
                "context_id": "wamid.out2",
            }
        )
        rows = [r for r in app.query(BubbleRow) if r.choices]
        await until(pilot, lambda: rows[1].answer == "Next time")
        latest = rows[1].choices
        assert all(choice.disabled for choice in latest)
        assert latest[1].has_class("chosen") and "✓" in str(latest[1].label)
        assert not latest[0].has_class("chosen")
        assert app.query_one("#composer", Input).has_focus
        await pilot.press("alt+1")  # answered already: no second tap
        await until(pilot, lambda: any("Already answered" in n for n in notices(app)))
        await pilot.click(latest[0])
        await pilot.pause(0.2)
        assert len(streaming.taps) == 1


async def test_alt_arrows_switch_participant_from_the_composer(backend: Backend) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(app.participants) == 2)
        first, second = app.participants  # newest first
        await until(pilot, lambda: app.selected == first)
        assert app.query_one("#composer", Input).has_focus
        await pilot.press("alt+down")
        await until(pilot, lambda: app.selected == second)
        await pilot.press("alt+down")  # the last one stays
        await pilot.pause(0.1)
        assert app.selected == second
        await pilot.press("alt+up")
        await until(pilot, lambda: app.selected == first)
        assert app.query_one("#composer", Input).has_focus


async def test_delete_asks_first_and_no_letter_answers(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*"yes", "enter")  # Enter on the focused "Keep"
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert len(fake_stack.participants) == 1
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: fake_stack.participants == [])
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 0)
        assert app.selected is None


async def test_keys_of_the_main_screen_sleep_under_a_dialog(
    backend: Backend, fake_stack: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("f9", "ctrl+n")
        await pilot.pause(0.2)
        assert fake_stack.clock_offset == 0 and fake_stack.participants == []
        await pilot.press("f1")  # F1 closes the help too
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


# --- help -----------------------------------------------------------------------------


async def test_help_is_made_from_the_bindings_and_scrolls_to_its_last_line(
    backend: Backend,
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")  # a letter: typed, never the help
        await pilot.pause(0.1)
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_view = app.screen.query_one("#help")
        console = Console(width=200, record=True)
        for static in app.screen.query(Static):
            console.print(static.content)
        text = " ".join(console.export_text().split())
        for binding in keys.BINDINGS:  # every key of the table, with its sentence
            assert f"{keys.key_names(binding)} {binding.tooltip}" in text
        for title in ("Chat", "Participants", "Time travel", "Faults", "Scenarios"):
            assert title in text
        legend = app.screen.query_one("#help-legend")
        assert help_view.max_scroll_y > 0  # taller than 24 rows: it must scroll
        assert not help_view.region.contains_region(legend.region)
        await pilot.press("end")
        await until(pilot, lambda: help_view.scroll_y == help_view.max_scroll_y)
        await pilot.pause(0.1)
        assert help_view.region.contains_region(legend.region)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


# --- the chat view --------------------------------------------------------------------

BURST = [
    "Quick check: how did the habit suggestion work for you? A tap or a word is fine.",
    "Time for your habit! When your phone buzzes, stand up and take 50 steps.",
    "Just checking in: did you get a chance to try your habit today?",
    "Hi there, your daily habit is waiting. Reply to let me know how it goes.",
]


async def burst_of_four(pilot: Any, stack: Any, phone: str) -> None:
    """Four prompts land together, each with its statuses, as F9 delivers them."""
    seq = len(stack.mock_events)
    for n, text in enumerate(BURST):
        message = {
            "id": f"wamid.burst{n}",
            "direction": "outbound",
            "type": "interactive",
            "text": text,
            "timestamp": f"2026-01-02T{n + 7:02d}:05:00Z",
            "status": "sent",
            "interactive": {
                "type": "button",
                "buttons": [{"id": "done", "title": "Done"}, {"id": "next", "title": "Next time"}],
            },
        }
        stack.chats[phone].append(message)
        for status in ("sent", "delivered", "read"):
            message["status"] = status
            seq += 1
            kind = "message.outbound" if status == "sent" else "message.status"
            stack.mock_events.append(
                {
                    "seq": seq,
                    "time": message["timestamp"],
                    "kind": kind,
                    "data": {"phone": phone, "id": message["id"], "status": status},
                }
            )
            await pilot.pause(0.01)


async def test_a_burst_renders_each_message_exactly_once(backend: Backend, streaming: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await enrolled(app, pilot)
        phone = streaming.participants[0]["phone_number"]
        for n in range(3):
            await say(pilot, f"hello {n}")
            await until(pilot, lambda n=n: len(app.query(Bubble)) == 2 * (n + 1))
        await burst_of_four(pilot, streaming, phone)
        await until(pilot, lambda: len(app.query(Bubble)) == 10)
        # The last statuses reach the screen with the chat's next load (a stream event or
        # the poll), and the newest bubble is laid out after it lands: wait for both, not
        # for a fixed time a busy machine may overrun.
        chat_view = app.query_one(ChatView)
        await until(
            pilot,
            lambda: (
                all(r.message.status == "read" for r in list(app.query(BubbleRow))[-4:])
                and chat_view.region.contains_region(list(app.query(BubbleRow))[-1].region)
            ),
        )
        rows = list(app.query(BubbleRow))
        ids = [r.message.id for r in rows]
        assert len(ids) == len(set(ids)) == 10
        assert [r.message.text for r in rows[-4:]] == BURST
        assert all(r.message.status == "read" for r in rows[-4:])
        regions = [r.region for r in rows if r.region.height]
        for above, below in itertools.pairwise(regions):
            assert not above.overlaps(below), "bubbles run into each other"
        # Following the bottom: the newest message is in view.
        assert app.query_one(ChatView).region.contains_region(rows[-1].region)


async def test_a_stale_chat_never_lands_in_another_participants_view(
    backend: Backend, streaming: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press(*"Hello!", "enter")
        await until(pilot, lambda: len(app.query(Bubble)) == 2)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(app.participants) == 2)
        for _ in range(10):  # back and forth while loads are in flight
            await pilot.press("alt+down", "alt+up")
        await pilot.pause(0.5)
        rows = list(app.query(BubbleRow))
        assert app.selected is not None
        chat = streaming.chats.get(app.selected.phone_number, [])
        assert [r.message.id for r in rows] == [m["id"] for m in chat]


async def test_after_a_resize_a_new_message_is_visible(backend: Backend, streaming: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(140, 42)) as pilot:
        await enrolled(app, pilot)
        phone = streaming.participants[0]["phone_number"]
        for n in range(6):
            await say(pilot, f"message number {n}")
            await until(pilot, lambda n=n: len(app.query(Bubble)) == 2 * (n + 1))
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        coach_says(streaming, phone, "wamid.after-resize", "Seen after the resize?")
        await until(pilot, lambda: len(app.query(Bubble)) == 13)
        await pilot.pause(0.2)
        chat = app.query_one(ChatView)
        assert chat.region.contains_region(list(app.query(BubbleRow))[-1].region)
        await pilot.resize_terminal(140, 42)
        coach_says(streaming, phone, "wamid.back", "And back at 140x42?")
        await until(pilot, lambda: len(app.query(Bubble)) == 14)
        await pilot.pause(0.2)
        assert chat.region.contains_region(list(app.query(BubbleRow))[-1].region)


async def test_scrolled_up_the_chat_counts_new_messages_below(
    backend: Backend, streaming: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await enrolled(app, pilot)
        phone = streaming.participants[0]["phone_number"]
        for n in range(5):
            await say(pilot, f"message {n}")
            await until(pilot, lambda n=n: len(app.query(Bubble)) == 2 * (n + 1))
        chat = app.query_one(ChatView)
        chat.scroll_home(animate=False)  # reading further up
        await pilot.pause(0.1)
        assert not chat.following
        coach_says(streaming, phone, "wamid.below1", "One")
        coach_says(streaming, phone, "wamid.below2", "Two")
        note = app.query_one("#unseen", Static)
        await until(pilot, lambda: not note.has_class("hidden"))
        assert "2 new messages ↓" in str(note.render())
        assert chat.scroll_y == 0  # the reader's place is kept
        await pilot.press("ctrl+end")
        await until(pilot, lambda: note.has_class("hidden"))
        await pilot.pause(0.2)
        assert chat.following
        assert chat.region.contains_region(list(app.query(BubbleRow))[-1].region)


# --- read state ------------------------------------------------------------------------


async def test_unread_counts_are_the_mocks_and_opening_a_chat_reads_it(
    backend: Backend, fake_stack: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        other = app.selected
        assert other is not None
        await pilot.press(*"Hello!", "enter")
        await pilot.press("ctrl+n")  # a second participant: their chat opens
        await until(pilot, lambda: app.selected is not None and app.selected.id != other.id)
        # The coach writes twice to the first participant: delivered, not read.
        for n in range(2):
            coach_says(fake_stack, other.phone_number, f"wamid.late{n}", "Still there?")
            fake_stack.chats[other.phone_number][-1]["status"] = "delivered"
            fake_stack.chats[other.phone_number][-1]["timestamp"] = "2026-01-01T13:05:00Z"
        rows = app.query(ParticipantItem)

        def row_of(pid: str) -> str:
            [row] = [r for r in rows if r.participant.id == pid]
            return row_markup(row.entry, UTC_CLOCK)

        await until(pilot, lambda: " 2 " in row_of(other.id))
        assert "INTAKE" in row_of(other.id)
        assert re.search(r"\b\w{3} \d\d:05\b", row_of(other.id))  # day and time
        assert app.selected is not None and "new" in row_of(app.selected.id)
        assert other.phone_number not in fake_stack.reads
        app.select(other)  # opening the chat is the phone reading it
        await until(pilot, lambda: other.phone_number in fake_stack.reads)
        await until(pilot, lambda: " 2 " not in row_of(other.id))
        assert all(m["status"] == "read" for m in fake_stack.chats[other.phone_number][1:])


async def test_own_messages_turn_blue_when_the_business_reads_them(
    backend: Backend, streaming: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        phone = streaming.participants[0]["phone_number"]
        await pilot.press(*"wait", "enter")
        await until(pilot, lambda: len(app.query(Bubble)) == 1)
        [mine] = app.query(Bubble)
        assert mine.message.read_by_business is False
        assert "✓✓" in bubble_markup(mine.message, UTC_CLOCK)
        assert TICKS["read"] not in bubble_markup(mine.message, UTC_CLOCK)
        streaming.chats[phone][0]["read_by_business"] = True
        streaming.mock_events.append(
            mock_event(1, "message.read_by_business", phone=phone, id=mine.message.id)
        )
        await until(pilot, lambda: mine.message.read_by_business is True)
        assert TICKS["read"] in bubble_markup(mine.message, UTC_CLOCK)


# --- one clock ------------------------------------------------------------------------


async def test_one_clock_the_stacks_in_the_participants_zone(
    backend: Backend, streaming: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Thu 01 Jan 12:00 UTC" in app.sub_title)
        await pilot.press("f9")
        await until(pilot, lambda: streaming.clock_offset == 86400)
        await until(pilot, lambda: "1 d ahead of real time" in app.sub_title)
        await enrolled(app, pilot)
        assert app.selected is not None
        zone = app.selected.timezone
        await until(pilot, lambda: zone in app.sub_title)
        await pilot.press(*"Hello!", "enter")
        await until(pilot, lambda: len(app.query(Bubble)) == 2)
        [bubble, _] = app.query(Bubble)
        assert StackClock(zone=zone).time_of_day("2026-01-01T12:00:00Z") in bubble.shown
        assert app.sub_title.count("ahead") == 1  # the offset is said once


# --- panels ---------------------------------------------------------------------------


async def test_inspector_shows_templates_with_their_review_status(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.templates = [
        {"name": "hello_world", "language": "en_US", "status": "APPROVED"},
        {"name": "streak_update", "language": "en", "status": "PENDING"},
        {
            "name": "spring_offer",
            "language": "en",
            "status": "REJECTED",
            "rejected_reason": "PROMOTIONAL",
        },
    ]
    app = app_for(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await enrolled(app, pilot)
        await pilot.press("f2")
        inspector = app.query_one(Inspector)
        await until(pilot, lambda: "Templates" in inspector.shown)
        shown = inspector.shown
        assert "hello_world [dim]en_US[/] [green]approved[/]" in shown
        assert "streak_update [dim]en[/] [yellow]pending[/]" in shown
        assert "spring_offer [dim]en[/] [red]rejected PROMOTIONAL[/]" in shown


async def test_inspector_shows_the_agents_time_and_what_the_participant_waited(
    backend: Backend, streaming: Any
) -> None:
    streaming.delivery_events = [
        {
            "id": n,
            "time": "2026-01-01T12:00:01Z",
            "kind": "agent.call",
            "data": {"key": "wamid.in0", "attempt": n, "max_attempts": 3, "ok": n == 2},
        }
        for n in (1, 2)
    ] + [
        {
            "id": 3,
            "time": "2026-01-01T12:00:06Z",
            "kind": "reply.queued",
            "data": {"message_id": "wamid.in0", "route": "agent", "duration_ms": 5500},
        }
    ]
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await enrolled(app, pilot)
        await pilot.press(*"Hello!", "enter")
        await pilot.press("f2")
        inspector = app.query_one(Inspector)
        await until(pilot, lambda: "waited" in inspector.shown)
        shown = inspector.shown
        assert "participant waited [b]5.5 s[/], 2 tries" in shown
        assert "agent's own time 42 ms" in shown
        for part in ("INTAKE", "habit_domain", "daily_prompt", "scripted", "save_user_profile"):
            assert part in shown
        assert "2026-01-02T" not in shown  # relative times, not ISO timestamps
        assert "created_at:[/] 2 h ago" in shown
        assert "in 19 h" in shown
        # It fits its panel: no line wider than the panel, and it scrolls.
        text = app.query_one("#inspector-text", Static)
        assert text.region.width <= inspector.region.width
        assert inspector.region.right <= app.size.width


async def test_event_log_shows_delivery_work_and_the_mock_stream(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.delivery_events = [
        {
            "id": 1,
            "time": "2026-01-01T12:00:00Z",
            "kind": "agent.call",
            "data": {"attempt": 1, "max_attempts": 3, "latency_ms": 12, "ok": False, "error": "x"},
        },
        {
            "id": 2,
            "time": "2026-01-01T12:00:01Z",
            "kind": "reply.queued",
            "data": {"route": "fallback", "phone": "1555•••4567", "duration_ms": 900},
        },
    ]
    fake_stack.mock_events = [
        {"seq": 7, "time": "2026-01-01T12:00:02Z", "kind": "message.status", "data": {"s": 1}}
    ]
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        log = app.query_one(EventLog)
        await until(pilot, lambda: len(log.shown) == 3)
        texts = log.texts()
        assert "agent call 1/3 failed" in texts[0]
        assert "fallback" in texts[1]
        assert "status" in texts[2]


async def test_one_log_line_per_enrollment(backend: Backend, streaming: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        phone = "15551234567"
        streaming.mock_events += [
            mock_event(1, "phone.updated", phone=phone, name="", last_inbound_at=None),
            mock_event(2, "phone.updated", phone=phone, name="Ada", last_inbound_at=None),
        ]
        log = app.query_one(EventLog)
        await until(pilot, lambda: any("Ada" in t for t in log.texts()))
        assert [t for t in log.texts() if "phone" in t] == [
            next(t for t in log.texts() if "Ada" in t)
        ]


async def test_one_notice_per_action(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: len(fake_stack.participants) == 5)
        await until(pilot, lambda: bool(notices(app, "Enrolled")))
        await pilot.pause(0.2)
        assert len(app._notifications) == 1
        assert len(notices(app, "Enrolled 5")) == 1


# --- the rest of the actions ----------------------------------------------------------


async def test_time_travel_moves_the_stack_clock(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f8")
        await until(pilot, lambda: bool(notices(app, "+5 h")))
        assert fake_stack.clock_offset == 5 * 3600


async def test_time_travel_to_a_chosen_duration(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"2h30m", "enter")
        await until(pilot, lambda: fake_stack.clock_offset == 9000)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"soon", "enter")  # not a time: a notice, the clock stays
        await until(pilot, lambda: any("neither" in n for n in notices(app)))
        assert fake_stack.clock_offset == 9000


async def test_next_morning_is_the_next_eight_oclock(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")  # nobody open: 08:00 UTC; the fake's now is 12:00
        await until(pilot, lambda: fake_stack.clock_offset == 20 * 3600)


async def test_tapping_a_reply_button_with_the_mouse(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press(*"prompt me", "enter")
        await until(pilot, lambda: len(app.query(ReplyButton)) == 2)
        await pilot.click(app.query(ReplyButton).first())
        await until(pilot, lambda: bool(fake_stack.taps))
        phone = fake_stack.participants[0]["phone_number"]
        assert fake_stack.taps == [(phone, "done", "wamid.out0")]
        assert app.query_one("#composer", Input).has_focus


async def test_list_rows_are_picked_with_the_keyboard(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press(*"list me", "enter")
        await until(pilot, lambda: len(app.query(ReplyButton)) == 2)
        stretch = app.query(ReplyButton).last()
        assert stretch.row and "Stretching" in str(stretch.label)
        stretch.focus()
        await pilot.press("enter")
        await until(pilot, lambda: bool(fake_stack.taps))
        phone = fake_stack.participants[0]["phone_number"]
        assert fake_stack.taps == [(phone, "stretch", "wamid.out0")]
        assert fake_stack.tap_kinds == ["row"]


async def test_batch_enroll_and_pause_resume(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: len(fake_stack.participants) == 5)
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 5)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(fake_stack.participants) == 6)
        await until(pilot, lambda: app.selected is not None and app.selected.id == "p_5")
        await pilot.press("f3")
        await until(pilot, lambda: fake_stack.participants[0]["status"] == "paused")
        await pilot.press("f3")
        await until(pilot, lambda: fake_stack.participants[0]["status"] == "active")


async def test_enrolling_five_keeps_the_open_chat(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        first = app.selected
        assert first is not None
        await pilot.press("f4")
        await until(pilot, lambda: len(fake_stack.participants) == 6)
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 6)
        assert app.selected is not None and app.selected.id == first.id
        title = str(app.query_one("#chat-title", Static).render())
        assert first.name in title
        await pilot.press(*"still me", "enter")
        await until(pilot, lambda: fake_stack.sent)
        assert fake_stack.sent == [(first.phone_number, "still me")]


async def test_faults_are_set_and_shown(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("alt+a")  # delivery answers 404: its dev routes are off
        await until(pilot, lambda: any("DEV_CLOCK" in n for n in notices(app, "Fault not set")))
        assert app.agent_fault == "ok"
        fake_stack.agent_fault = {"mode": "ok"}
        await pilot.press("alt+a")
        await until(pilot, lambda: app.agent_fault == "slow")
        assert fake_stack.agent_fault == {"mode": "slow", "delay_seconds": 5}
        await pilot.press("alt+w")
        await until(pilot, lambda: bool(fake_stack.whatsapp_faults))
        assert fake_stack.whatsapp_faults[0]["error_code"] == 131000
        status = app.query_one("#status", Static)
        await until(pilot, lambda: "agent slow" in str(status.render()))
        await until(pilot, lambda: "1 WhatsApp fault" in str(status.render()))
        await pilot.press("alt+c")
        await until(pilot, lambda: not fake_stack.whatsapp_faults)
        assert fake_stack.agent_fault == {"mode": "ok", "delay_seconds": 0}


async def test_status_line_shows_an_agent_fault_set_elsewhere(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.agent_fault = {"mode": "down", "delay_seconds": 0}  # a scenario set it
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        status = app.query_one("#status", Static)
        await until(pilot, lambda: "agent down" in str(status.render()))
        fake_stack.agent_fault = {"mode": "ok", "delay_seconds": 0}
        await until(pilot, lambda: "agent down" not in str(status.render()))


async def test_save_the_conversation_as_a_scenario(
    backend: Backend, tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press(*"prompt me", "enter")
        await until(pilot, lambda: len(app.query(Bubble)) == 2)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: list(tmp_path.glob("scenarios/recorded-*.yaml")))
    [saved] = tmp_path.glob("scenarios/recorded-*.yaml")
    scenario = load(saved)
    assert [s.action for s in scenario.steps] == ["send", "expect_reply"]
    assert scenario.steps[1].args["buttons"] == ["Done", "Next time"]


async def test_run_a_scenario_live(backend: Backend, fake_stack: Any, tmp_path: Any) -> None:
    path = tmp_path / "hello.yaml"
    path.write_text(
        "participants: {ada: {name: Ada}}\n"
        "steps:\n  - send: Hi\n  - expect_reply: {matches: 'you said Hi'}\n"
        "  - expect_reply: {within: 1s}\n"  # nothing more comes: this step fails
    )
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, AskScreen))
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await until(pilot, lambda: any("failed" in n for n in notices(app)))
        lines = app.query_one(EventLog).texts()
        assert any("✓ expect a reply /you said Hi/" in line for line in lines)
        assert any("✗ expect a reply" in line for line in lines)
        assert any("FAIL" in line for line in lines)
        await until(pilot, lambda: app.selected is not None and app.selected.name == "Ada")
        assert fake_stack.sent[-1][1] == "Hi"


def mock_event(seq: int, kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": seq, "time": "2026-01-01T12:00:00Z", "kind": kind, "data": data}


async def test_typing_follows_the_mocks_typing_events(backend: Backend, streaming: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        phone = streaming.participants[0]["phone_number"]
        typing = app.query_one("#typing", Static)
        streaming.mock_events.append(mock_event(1, "typing", phone=phone, typing=True))
        await until(pilot, lambda: not typing.has_class("hidden"))
        await pilot.press(*"wait", "enter")  # unanswered, but the business stopped typing:
        await until(pilot, lambda: any(b.message.text == "wait" for b in app.query(Bubble)))
        streaming.mock_events.append(
            mock_event(2, "typing", phone=phone, typing=False, reason="timeout")
        )
        await until(pilot, lambda: typing.has_class("hidden"))
        await pilot.pause(0.3)  # several polls of the chat: nothing brings it back
        assert typing.has_class("hidden")


async def test_losing_the_mocks_stream_notifies_once_and_it_resumes(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.mock_events = [mock_event(1, "reset")]
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        log = app.query_one(EventLog)
        await until(pilot, lambda: ("mock", 1) in log.shown)
        fake_stack.down = True
        await until(pilot, lambda: app.mock_events.in_trouble)
        await pilot.pause(0.5)
        fake_stack.mock_events.append(mock_event(2, "clock.changed", now="2026-01-01T13:00:00Z"))
        fake_stack.down = False
        await until(pilot, lambda: ("mock", 2) in log.shown)
        told = [n for n in notices(app) if "mock_whatsapp" in n]
        assert len(told) == 1, told  # once for the whole outage, not once per retry
        assert app.is_running


def test_delivery_read_receipts_have_their_own_line() -> None:
    ok = {"kind": "whatsapp.read", "data": {"phone": "1555•••4567", "attempts": 1, "ok": True}}
    failed = {
        "kind": "whatsapp.read",
        "data": {"phone": "1555•••4567", "attempts": 2, "ok": False, "error": "http 500"},
    }
    assert "marked read" in describe_delivery_event(ok).text
    assert "read receipt failed" in describe_delivery_event(failed).text
    assert "after 2 tries" in describe_delivery_event(failed).text
