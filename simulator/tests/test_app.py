"""The TUI's behaviour, driven with Pilot against a fake stack."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from textual.widgets import Input, ListView, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.scenario import load
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.screens.ask import AskScreen
from promptpipe_simulator.tui.screens.help import HelpScreen
from promptpipe_simulator.tui.widgets.chat import TICKS, Bubble, ReplyButton, bubble_markup
from promptpipe_simulator.tui.widgets.events import EventLog, describe_delivery_event
from promptpipe_simulator.tui.widgets.roster import ParticipantItem, row_markup


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until `condition` holds; polling, so a slow machine only waits longer."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


def app_for(backend: Backend) -> SimulatorApp:
    return SimulatorApp(backend, poll_seconds=0.05, personas=PersonaFactory(seed=1))


async def test_enroll_then_chat(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 1)
        assert len(fake_stack.participants) == 1
        composer = app.query_one("#composer", Input)
        assert not composer.disabled and composer.has_focus
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
        await until(pilot, lambda: any("not reachable" in n.message for n in app._notifications))
        await pilot.press("n")  # enrolling while down: another notification, no crash
        await pilot.pause(0.2)
        fake_stack.down = False
        await pilot.press("n")
        await until(pilot, lambda: len(fake_stack.participants) == 1)
        assert app.is_running


async def test_help_screen(backend: Backend) -> None:
    app = app_for(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_time_travel_moves_the_stack_clock(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f8")
        await until(pilot, lambda: any("+5h" in (n.title or "") for n in app._notifications))
        assert fake_stack.clock_offset == 5 * 3600


async def test_tapping_a_reply_button_taps_it_on_the_phone(
    backend: Backend, fake_stack: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: not app.query_one("#composer", Input).disabled)
        await pilot.press(*"prompt me", "enter")
        await until(pilot, lambda: len(app.query(ReplyButton)) == 2)
        done = app.query(ReplyButton).first()
        await pilot.click(done)
        await until(pilot, lambda: bool(fake_stack.taps))
        phone = fake_stack.participants[0]["phone_number"]
        assert fake_stack.taps == [(phone, "done", "wamid.out0")]


async def test_batch_enroll_and_pause_resume(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: len(fake_stack.participants) == 5)
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 5)
        await pilot.press("ctrl+n")  # works wherever the focus is
        await until(pilot, lambda: len(fake_stack.participants) == 6)
        await until(pilot, lambda: app.selected is not None and app.selected.id == "p_5")
        await pilot.press("f3")
        await until(pilot, lambda: fake_stack.participants[0]["status"] == "paused")
        await pilot.press("f3")
        await until(pilot, lambda: fake_stack.participants[0]["status"] == "active")


async def test_event_log_shows_webhooks_and_their_retries(backend: Backend) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        log = app.query_one(EventLog)
        await until(pilot, lambda: bool(log.shown))
        assert "message from +1555…4567" in log.shown[1]
        assert "after 2 tries" in log.shown[1]


async def test_delete_asks_first(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.selected is not None)
        await pilot.press("f10")
        await pilot.press("n")  # changed my mind
        await pilot.pause(0.2)
        assert len(fake_stack.participants) == 1
        await pilot.press("f10")
        await pilot.press("y")
        await until(pilot, lambda: fake_stack.participants == [])
        await until(pilot, lambda: len(app.query_one("#participants", ListView).children) == 0)
        assert app.selected is None


async def enrolled(app: SimulatorApp, pilot: Any) -> None:
    await pilot.press("n")
    await until(pilot, lambda: not app.query_one("#composer", Input).disabled)


async def test_inspector_shows_jobs_profile_and_last_turn(backend: Backend) -> None:
    app = app_for(backend)
    async with app.run_test(size=(120, 30)) as pilot:
        await enrolled(app, pilot)
        await pilot.press("f2")
        inspector = app.query_one("#inspector", Static)
        await until(pilot, lambda: "save_user_profile" in str(inspector.render()))
        shown = str(inspector.render())
        for part in ("INTAKE", "habit_domain", "daily_prompt", "42 ms", "scripted"):
            assert part in shown


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
        inspector = app.query_one("#inspector", Static)
        await until(pilot, lambda: "Templates" in str(inspector.render()))
        shown = str(inspector.render())
        for part in ("hello_world en_US approved", "streak_update en pending"):
            assert part in shown
        assert "spring_offer en rejected PROMOTIONAL" in shown


async def test_inspector_leaves_templates_out_when_the_mock_has_none(backend: Backend) -> None:
    app = app_for(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await enrolled(app, pilot)
        await pilot.press("f2")
        inspector = app.query_one("#inspector", Static)
        await until(pilot, lambda: "Pending jobs" in str(inspector.render()))
        await pilot.pause(0.2)
        assert "Templates" not in str(inspector.render())
        assert app.is_running


async def test_faults_without_an_api_give_a_notice(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a")  # delivery answers 404: no fault switch here
        await until(pilot, lambda: any("fault switch" in n.message for n in app._notifications))
        await pilot.press("w")  # mock_whatsapp answers 404: no faults API
        await until(pilot, lambda: any("faults API" in n.message for n in app._notifications))
        assert app.is_running and app.agent_fault == "ok"

        fake_stack.agent_fault = {"mode": "ok"}
        await pilot.press("a")
        await until(pilot, lambda: app.agent_fault == "slow")
        assert fake_stack.agent_fault == {"mode": "slow", "delay_seconds": 5}
        await until(pilot, lambda: "agent slow" in str(app.query_one("#status", Static).render()))


async def test_time_travel_to_a_chosen_duration(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"2h30m", "enter")
        await until(pilot, lambda: fake_stack.clock_offset == 9000)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"soon", "enter")  # not a time: a notice, the clock stays
        await until(pilot, lambda: any("neither" in n.message for n in app._notifications))
        assert fake_stack.clock_offset == 9000


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
        assert "agent call 1/3 failed" in log.shown["delivery", 1]
        assert "fallback" in log.shown["delivery", 2]
        assert "status" in log.shown["mock", 7]
        assert 1 not in log.shown  # with a stream, webhook deliveries are not polled


async def test_typing_shows_while_a_message_waits_for_its_answer(
    backend: Backend, fake_stack: Any
) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        typing = app.query_one("#typing", Static)
        assert typing.has_class("hidden")
        await pilot.press(*"wait", "enter")
        await until(pilot, lambda: not typing.has_class("hidden"))
        phone = fake_stack.participants[0]["phone_number"]
        fake_stack.chats[phone].append(
            {
                "id": "wamid.late",
                "direction": "outbound",
                "type": "text",
                "text": "Sorry, I was thinking",
                "timestamp": "2026-01-01T12:00:05Z",
                "status": "sent",
            }
        )
        await until(pilot, lambda: typing.has_class("hidden"))


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
        await until(pilot, lambda: any("failed" in n.message for n in app._notifications))
        lines = app.query_one(EventLog).texts()
        assert any("✓ expect a reply /you said Hi/" in line for line in lines)
        assert any("✗ expect a reply" in line for line in lines)
        assert any("FAIL" in line for line in lines)
        assert app.selected is not None and app.selected.name == "Ada"
        assert fake_stack.sent[-1][1] == "Hi"


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
        app.query_one("#composer", Input).focus()
        await pilot.press(*"still me", "enter")
        await until(pilot, lambda: fake_stack.sent)
        assert fake_stack.sent == [(first.phone_number, "still me")]


async def test_sidebar_shows_sub_state_unread_and_last_activity(
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
        # The coach writes twice to the first participant while another chat is open.
        for n in range(2):
            fake_stack.chats[other.phone_number].append(
                {
                    "id": f"wamid.late{n}",
                    "direction": "outbound",
                    "type": "text",
                    "text": "Still there?",
                    "timestamp": "2026-01-01T13:05:00Z",
                    "status": "delivered",
                }
            )
        rows = app.query(ParticipantItem)

        def row_of(pid: str) -> str:
            [row] = [r for r in rows if r.participant.id == pid]
            return row_markup(row.entry)

        await until(pilot, lambda: " 2 " in row_of(other.id))
        assert "INTAKE" in row_of(other.id)
        assert re.search(r"\b\w{3} \d\d:05\b", row_of(other.id))  # local day and time
        assert "new" in row_of(app.selected.id)  # has not talked to the coach yet
        app.select(other)
        await until(pilot, lambda: " 2 " not in row_of(other.id))


def mock_event(seq: int, kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": seq, "time": "2026-01-01T12:00:00Z", "kind": kind, "data": data}


async def test_typing_follows_the_mocks_typing_events(backend: Backend, fake_stack: Any) -> None:
    fake_stack.mock_events, fake_stack.mock_stream = [], True
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        phone = fake_stack.participants[0]["phone_number"]
        typing = app.query_one("#typing", Static)
        fake_stack.mock_events.append(mock_event(1, "typing", phone=phone, typing=True))
        await until(pilot, lambda: not typing.has_class("hidden"))
        assert app.mock_events.mode == "stream"
        await pilot.press(*"wait", "enter")  # unanswered, but the business stopped typing:
        await until(pilot, lambda: any(b.message.text == "wait" for b in app.query(Bubble)))
        fake_stack.mock_events.append(
            mock_event(2, "typing", phone=phone, typing=False, reason="timeout")
        )
        await until(pilot, lambda: typing.has_class("hidden"))
        await pilot.pause(0.3)  # several polls of the chat: no guess brings it back
        assert typing.has_class("hidden")


async def test_own_messages_turn_blue_when_the_business_reads_them(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.mock_events, fake_stack.mock_stream = [], True
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await enrolled(app, pilot)
        phone = fake_stack.participants[0]["phone_number"]
        await pilot.press(*"wait", "enter")
        await until(pilot, lambda: len(app.query(Bubble)) == 1)
        [mine] = app.query(Bubble)
        assert mine.message.read_by_business is False
        assert "✓✓" in bubble_markup(mine.message, "UTC")
        assert TICKS["read"] not in bubble_markup(mine.message, "UTC")
        fake_stack.chats[phone][0]["read_by_business"] = True
        fake_stack.mock_events.append(
            mock_event(1, "message.read_by_business", phone=phone, id=mine.message.id)
        )
        await until(pilot, lambda: mine.message.read_by_business is True)
        assert TICKS["read"] in bubble_markup(mine.message, "UTC")


async def test_losing_the_mocks_stream_notifies_once_and_it_resumes(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.mock_events, fake_stack.mock_stream = [mock_event(1, "reset")], True
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
        told = [n.message for n in app._notifications if "mock_whatsapp" in n.message]
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


async def test_next_morning_is_the_next_eight_oclock(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")  # nobody selected: 08:00 UTC; the fake's now is 12:00
        await until(pilot, lambda: fake_stack.clock_offset == 20 * 3600)
