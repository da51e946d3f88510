"""The event log's sentences for every kind of event, its filter and its details screen."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.tui import keys
from promptpipe_simulator.tui.app import SimulatorApp
from promptpipe_simulator.tui.widgets.events import (
    EventDetailsScreen,
    EventLog,
    LogEntry,
    describe_delivery_event,
    describe_event,
    same_phone,
)

PHONE = "15551234567"
WAMID = "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI7zrO"
MESSAGE_PAYLOAD = {
    "entry": [{"changes": [{"value": {"messages": [{"from": PHONE, "id": WAMID}]}}]}]
}
STATUS_PAYLOAD = {
    "entry": [
        {
            "changes": [
                {"value": {"statuses": [{"id": WAMID, "status": "read", "recipient_id": PHONE}]}}
            ]
        }
    ]
}


def mock(kind: str, **data: Any) -> LogEntry:
    return describe_event({"seq": 1, "time": "2026-01-07T07:20:05Z", "kind": kind, "data": data})


def delivery(kind: str, **data: Any) -> LogEntry:
    return describe_delivery_event(
        {"id": 1, "time": "2026-01-07T07:20:05Z", "kind": kind, "data": data}
    )


def plain(entry: LogEntry) -> str:
    return Text.from_markup(entry.text).plain


# (event, the sentence it makes, its severity)
MOCK_CASES = [
    (
        mock("message.inbound", phone=PHONE, id=WAMID, type="text", text="I went for a walk"),
        '+1555…4567 sent "I went for a walk"',
        "info",
    ),
    (
        mock(
            "message.inbound",
            phone=PHONE,
            type="interactive",
            interactive={"type": "button_reply", "button_reply": {"id": "done", "title": "Done"}},
        ),
        '+1555…4567 sent tapped "Done"',
        "info",
    ),
    (
        mock("message.outbound", phone=PHONE, type="text", text="Good morning! " * 5),
        'coach → +1555…4567: "Good morning! Good morning! Goo…"',
        "info",
    ),
    (
        mock("message.outbound", phone=PHONE, type="template", template={"name": "daily_prompt"}),
        "coach → +1555…4567: template daily_prompt",
        "info",
    ),
    (
        mock("message.status", id=WAMID, phone=PHONE, status="read"),
        "status read · wamid…7zrO",
        "info",
    ),
    (
        mock(
            "message.status",
            id=WAMID,
            phone=PHONE,
            status="failed",
            errors=[{"code": 131026, "title": "Message undeliverable"}],
        ),
        "status failed · wamid…7zrO (131026 Message undeliverable)",
        "error",
    ),
    (
        mock("message.read_by_business", phone=PHONE, id=WAMID),
        "business read +1555…4567's message",
        "quiet",
    ),
    (mock("typing", phone=PHONE, typing=True), "coach typing… (+1555…4567)", "quiet"),
    (
        mock("typing", phone=PHONE, typing=False, reason="timeout"),
        "coach stopped typing (+1555…4567, timeout)",
        "quiet",
    ),
    (
        mock("webhook.queued", delivery_id=37, payload=MESSAGE_PAYLOAD, signature="sha256=ab"),
        "webhook #37 queued: message from +1555…4567",
        "quiet",
    ),
    (
        mock(
            "webhook.attempt",
            delivery_id=37,
            attempt=1,
            status_code=200,
            latency_ms=3.2,
            state="delivered",
            payload=MESSAGE_PAYLOAD,
            signature="sha256=ab",
        ),
        "webhook #37 message from +1555…4567 → delivery 200 in 3 ms",
        "info",
    ),
    (
        mock(
            "webhook.attempt",
            delivery_id=38,
            attempt=2,
            status_code=500,
            latency_ms=4,
            state="pending",
            payload=STATUS_PAYLOAD,
        ),
        "webhook #38 retry 2 → 500, will retry",
        "warning",
    ),
    (
        mock(
            "webhook.attempt",
            delivery_id=39,
            attempt=1,
            status_code=None,
            error="connection refused",
            state="pending",
            payload=STATUS_PAYLOAD,
        ),
        "webhook #39 status read · wamid…7zrO → connection refused, will retry",
        "warning",
    ),
    (
        mock("webhook.gave_up", delivery_id=38, attempts=6, status_code=500, error=None),
        "webhook #38 gave up after 6 tries (last: 500)",
        "error",
    ),
    (
        mock(
            "api.error",
            endpoint="POST /v21.0/123/messages",
            status=400,
            code=131000,
            message="Something went wrong",
        ),
        "API error 131000 on POST /v21.0/123/messages: Something went wrong",
        "error",
    ),
    (
        mock("clock.changed", now="2026-01-07T07:20:00Z", offset_seconds=3600),
        "clock moved: 1 h ahead of real time",
        "info",
    ),
    (
        mock("phone.updated", phone=PHONE, name="Ada", last_inbound_at=None),
        "phone +1555…4567 (Ada) saved",
        "quiet",
    ),
    (
        mock("phone.updated", phone=PHONE, online=False, blocked=False, auto_read=True),
        "phone +1555…4567: not online",
        "quiet",
    ),
    (mock("reset"), "mock reset: every chat cleared", "warning"),
    (
        mock("fault.injected", id="flt_1", target="messages", error_code=131000, times=2, hits=1),
        "fault injected: messages 131000 (1 left)",
        "error",
    ),
    (
        mock(
            "fault.changed",
            faults=[{"target": "webhooks", "webhook": "drop", "probability": 0.5}],
        ),
        "faults: webhooks drop 50%",
        "warning",
    ),
    (mock("fault.changed", faults=[]), "faults: none", "info"),
]

DELIVERY_CASES = [
    (
        delivery(
            "agent.call", participant_id="p_1", attempt=1, max_attempts=3, latency_ms=80, ok=True
        ),
        "agent call 1/3 ok in 80 ms",
        "info",
    ),
    (
        delivery(
            "agent.call",
            participant_id="p_1",
            attempt=2,
            max_attempts=3,
            latency_ms=10000,
            ok=False,
            error="timeout after 10 s",
        ),
        "agent call 2/3 failed: timeout after 10 s (10000 ms)",
        "warning",
    ),
    (
        delivery("agent.call", attempt=3, max_attempts=3, latency_ms=5, ok=False, error="503"),
        "agent call 3/3 failed: 503 (5 ms)",
        "error",
    ),
    (
        delivery("reply.queued", phone="1555•••4567", route="agent", duration_ms=900),
        "reply queued (agent) for +1555…4567 in 900 ms",
        "info",
    ),
    (
        delivery("reply.queued", phone="1555•••4567", route="fallback", duration_ms=30000),
        "reply queued (fallback: the agent failed) for +1555…4567",
        "error",
    ),
    (
        delivery(
            "outbox.sent",
            outbox_id="ob_4652c7d9bf74c3cee33e6b2e3196436b",
            phone="1555•••4567",
            message_id=WAMID,
            latency_ms=3,
        ),
        "sent #…436b to +1555…4567 → wamid…7zrO in 3 ms",
        "info",
    ),
    (
        delivery("outbox.retry", outbox_id=12, attempt=1, error="whatsapp: 500"),
        "send #12 try 1 failed, will retry: whatsapp: 500",
        "warning",
    ),
    (
        delivery("outbox.failed", outbox_id=12, attempt=5, error="131026 undeliverable"),
        "send #12 failed for good: 131026 undeliverable",
        "error",
    ),
    (
        delivery("whatsapp.read", phone="1555•••4567", attempts=1, ok=True),
        "marked read, typing… +1555…4567",
        "quiet",
    ),
    (
        delivery("whatsapp.read", phone="1555•••4567", attempts=2, ok=False, error="http 500"),
        "read receipt failed +1555…4567 after 2 tries: http 500",
        "warning",
    ),
    (
        delivery("webhook.message", message_id=WAMID, phone="1555•••4567", type="text"),
        "took text from +1555…4567",
        "info",
    ),
    (
        delivery("webhook.message", phone="1555•••4567", type="text", duplicate=True),
        "took text from +1555…4567 (duplicate, ignored)",
        "warning",
    ),
    (
        delivery("webhook.status", message_id=WAMID, status="delivered"),
        "took status delivered · wamid…7zrO",
        "info",
    ),
    (
        delivery("webhook.status", message_id=WAMID, status="failed", error_code=131026),
        "took status failed · wamid…7zrO (error 131026)",
        "error",
    ),
    (
        delivery("webhook.refused", reason="bad signature"),
        "webhook refused: bad signature",
        "error",
    ),
]


@pytest.mark.parametrize(("entry", "sentence", "severity"), MOCK_CASES + DELIVERY_CASES)
def test_every_kind_makes_a_short_sentence(entry: LogEntry, sentence: str, severity: str) -> None:
    assert plain(entry) == sentence
    assert entry.severity == severity
    assert "sha256" not in entry.markup() and "'entry'" not in entry.markup()


def test_every_kind_the_mock_and_delivery_publish_is_covered() -> None:
    mock_kinds = {str(e.raw["kind"]) for e, _, _ in MOCK_CASES}
    delivery_kinds = {str(e.raw["kind"]) for e, _, _ in DELIVERY_CASES}
    assert mock_kinds == {
        "message.inbound",
        "message.outbound",
        "message.status",
        "message.read_by_business",
        "typing",
        "webhook.queued",
        "webhook.attempt",
        "webhook.gave_up",
        "api.error",
        "clock.changed",
        "phone.updated",
        "reset",
        "fault.injected",
        "fault.changed",
    }
    assert delivery_kinds == {
        "agent.call",
        "reply.queued",
        "outbox.sent",
        "outbox.retry",
        "outbox.failed",
        "whatsapp.read",
        "webhook.message",
        "webhook.status",
        "webhook.refused",
    }


def test_lines_are_coloured_by_source_and_severity() -> None:
    agent = DELIVERY_CASES[1][0]
    assert agent.source == "agent"
    assert "[magenta]agent" in agent.markup() and "[yellow]" in agent.markup()
    assert "[green]whatsapp" in MOCK_CASES[0][0].markup()
    assert "[red]" in MOCK_CASES[-3][0].markup()  # a fault injected


def test_unknown_kinds_and_markup_in_text_are_shown_safely() -> None:
    assert plain(mock("something.new", x=1)) == "something.new"
    entry = mock("message.inbound", phone=PHONE, type="text", text="[b]not bold[/b]")
    assert plain(entry) == '+1555…4567 sent "[b]not bold[/b]"'


def test_masked_numbers_match_by_their_ends() -> None:
    assert same_phone("15551234567", "1555•••4567")
    assert same_phone("15551234567", "+1 555 123 4567")
    assert not same_phone("15551234567", "15551234568")
    assert not same_phone("15551234567", "1666•••4567")
    assert not same_phone("", "")


def app_for(backend: Backend) -> SimulatorApp:
    # As in test_app.py: polling at the shipped pace leaves the app idle between polls,
    # which Pilot waits for after each key.
    return SimulatorApp(backend, poll_seconds=0.5)


async def until(pilot: Any, condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never became true")


def stream_event(seq: int, kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": seq, "time": "2026-01-01T12:00:00Z", "kind": kind, "data": data}


async def test_ctrl_f_keeps_only_the_open_participants_events(
    backend: Backend, fake_stack: Any
) -> None:
    fake_stack.delivery_events = []
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.selected is not None)
        assert app.selected is not None
        mine, theirs = app.selected.phone_number, "19998887777"
        fake_stack.mock_events += [
            stream_event(1, "message.inbound", phone=mine, id="wamid.mine", type="text", text="hi"),
            stream_event(2, "message.inbound", phone=theirs, id="wamid.x", type="text", text="yo"),
            stream_event(3, "clock.changed", now="2026-01-01T13:00:00Z", offset_seconds=3600),
        ]
        # delivery names the message only: its owner is learnt from the mock's event.
        fake_stack.delivery_events += [
            {
                "id": 1,
                "time": "2026-01-01T12:00:01Z",
                "kind": "webhook.status",
                "data": {"message_id": "wamid.mine", "status": "delivered"},
            },
            {
                "id": 2,
                "time": "2026-01-01T12:00:01Z",
                "kind": "agent.call",
                "data": {"participant_id": "p_other", "attempt": 1, "max_attempts": 3, "ok": True},
            },
        ]
        await pilot.press("f5")
        log = app.query_one(EventLog)
        await until(pilot, lambda: len(log.shown) == 5)
        assert log.option_count == 5
        log.focus()
        await pilot.press("f")  # a letter types, in the composer; it filters nothing
        assert log.only is None and app.pane.composer.value == "f"
        await pilot.press("ctrl+f")
        texts = log.texts()
        assert any('sent "hi"' in t for t in texts)
        assert any("took status delivered" in t for t in texts)
        assert not any('"yo"' in t or "agent call" in t or "clock" in t for t in texts)
        assert "only" in str(log.border_title)
        await pilot.press("ctrl+f")
        assert log.option_count == 5
        assert log.only is None


async def test_every_action_is_in_the_command_palette(backend: Backend) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Event log: only this participant" in titles
        # The palette is made from the key table: nothing bound is missing from it.
        bound = {
            b.description for b in keys.BINDINGS if b.action not in ("quit", "command_palette")
        }
        assert bound <= set(titles)


async def test_enter_on_a_line_opens_the_whole_event(backend: Backend, fake_stack: Any) -> None:
    fake_stack.mock_events.append(
        stream_event(
            9,
            "webhook.attempt",
            delivery_id=37,
            attempt=1,
            status_code=200,
            latency_ms=3,
            state="delivered",
            signature="sha256=deadbeef",
            payload=MESSAGE_PAYLOAD,
        )
    )
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        log = app.query_one(EventLog)
        await until(pilot, lambda: ("mock", 9) in log.shown)
        log.focus()
        log.highlighted = 0
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EventDetailsScreen))
        screen = app.screen
        assert isinstance(screen, EventDetailsScreen)
        assert '"signature": "sha256=deadbeef"' in screen.text and WAMID in screen.text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, EventDetailsScreen))
        await pilot.click(EventLog, offset=(2, 1))
        await until(pilot, lambda: isinstance(app.screen, EventDetailsScreen))


async def test_the_filter_follows_the_participant_picked(backend: Backend, fake_stack: Any) -> None:
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.selected is not None)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: len(app.participants) == 2)
        first, second = app.participants
        app.select(first)
        await until(pilot, lambda: app.selected == first)
        app.action_filter_events()
        log = app.query_one(EventLog)
        assert log.only == (first.phone_number, first.id)
        assert not log.has_class("hidden")  # filtering opens the log
        app.select(second)
        await until(pilot, lambda: log.only == (second.phone_number, second.id))
        assert second.name in str(log.border_title)


async def test_the_log_is_in_the_order_of_the_stack_clock_after_a_time_jump(
    backend: Backend, fake_stack: Any
) -> None:
    """The mock's events arrive live, delivery's at its next poll: a line of delivery's
    from before the jump goes before the jump, not after it."""
    fake_stack.delivery_events = []
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        log = app.query_one(EventLog)
        fake_stack.mock_events.append(
            {
                "seq": 1,
                "time": "2026-01-02T12:00:00Z",  # a day on: the clock jumped
                "kind": "clock.changed",
                "data": {"now": "2026-01-02T12:00:00Z", "offset_seconds": 86400},
            }
        )
        await until(pilot, lambda: ("mock", 1) in log.shown)
        fake_stack.delivery_events.append(
            {
                "id": 1,
                "time": "2026-01-01T12:00:05Z",  # before the jump, seen after it
                "kind": "outbox.sent",
                "data": {"outbox_id": "ob_1", "phone": "1555•••4567", "latency_ms": 4},
            }
        )
        await until(pilot, lambda: ("delivery", 1) in log.shown)
        texts = log.texts()
        assert [t.split()[1] for t in texts] == ["delivery", "whatsapp"]
        assert "sent #ob_1" in texts[0] and "clock moved" in texts[1]
        # Times are the stack's, in the open participant's zone (UTC with nobody open).
        assert texts[0].startswith("12:00:05") and texts[1].startswith("12:00:00")


async def test_a_full_log_drops_its_oldest_lines_and_keeps_one_line_per_phone(
    backend: Backend, fake_stack: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(EventLog, "MAX_ENTRIES", 5)
    app = app_for(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(EventLog)
        fake_stack.mock_events += [stream_event(n, "reset") for n in range(1, 7)]
        fake_stack.mock_events += [
            stream_event(7, "phone.updated", phone=PHONE, name=""),
            stream_event(8, "phone.updated", phone=PHONE, name="Ada"),
        ]
        await until(pilot, lambda: ("mock", 8) in log.shown or ("phone", PHONE) in log.shown)
        await until(pilot, lambda: any("Ada" in t for t in log.texts()))
        texts = log.texts()
        assert len(texts) == log.option_count == 5
        assert [t for t in texts if "phone" in t] == [texts[-1]] and "Ada" in texts[-1]
