"""The event bus, and the events the mock's state changes produce through its journal."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from mock_whatsapp import typing_indicator
from mock_whatsapp.events import EventBus, ListenerDropped, kind_filter
from mock_whatsapp.journal import Journal
from mock_whatsapp.main import create_app
from mock_whatsapp.settings import Settings

from .conftest import PHONE_NUMBER_ID, SECRET, TOKEN, Receiver

PHONE = "15551234567"

# --- the bus ------------------------------------------------------------------------------


def test_events_are_numbered_and_carry_the_mock_time() -> None:
    bus = EventBus()
    first = bus.publish("fault.injected", {"id": "f1"})
    second = bus.publish("reset")
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["kind"] == "fault.injected" and first["data"] == {"id": "f1"}
    assert second["data"] == {}
    assert first["time"].endswith("Z")


def test_recent_pages_forward_and_the_buffer_is_bounded() -> None:
    bus = EventBus(capacity=3)
    for n in range(5):
        bus.publish("phone.updated", {"n": n})
    # Only the newest three are kept; seq keeps counting.
    assert [e["seq"] for e in bus.recent()] == [3, 4, 5]
    assert [e["seq"] for e in bus.recent(after=3)] == [4, 5]
    assert [e["seq"] for e in bus.recent(after=0, limit=2)] == [3, 4]
    assert bus.recent(after=5) == []


async def test_subscribe_replays_then_follows_without_gap_or_repeat() -> None:
    bus = EventBus()
    for n in range(3):
        bus.publish("phone.updated", {"n": n})
    with bus.subscribe(after=1) as (replay, subscription):
        bus.publish("reset")
        live = await subscription.next(timeout=1)
    assert [e["seq"] for e in replay] == [2, 3]
    assert live is not None and live["seq"] == 4
    assert bus.listeners == set()  # leaving the block unsubscribes


async def test_subscribe_without_after_starts_with_the_next_event() -> None:
    bus = EventBus()
    bus.publish("phone.updated")
    with bus.subscribe() as (replay, subscription):
        assert replay == []
        assert await subscription.next(timeout=0) is None
        bus.publish("reset")
        event = await subscription.next(timeout=1)
    assert event is not None and event["seq"] == 2


async def test_a_filtered_listener_gets_only_its_kinds_and_they_alone_fill_its_backlog() -> None:
    bus = EventBus(backlog=2)
    bus.publish("message.inbound", {"n": 0})
    bus.publish("webhook.attempt")
    wanted = kind_filter("message, clock.changed")
    with bus.subscribe(after=0, kinds=wanted) as (replay, subscription):
        for kind in ("webhook.queued", "message.status", "phone.updated", "clock.changed"):
            bus.publish(kind)
        # Four events published, two of them wanted: a backlog of two is not overrun.
        live = [await subscription.next(timeout=1) for _ in range(2)]
        assert subscription in bus.listeners
    assert [e["kind"] for e in replay] == ["message.inbound"]
    assert [e and e["kind"] for e in live] == ["message.status", "clock.changed"]
    assert [e["kind"] for e in bus.recent(kinds=kind_filter("webhook"))] == [
        "webhook.attempt",
        "webhook.queued",
    ]
    assert kind_filter("") is None and kind_filter(None) is None
    assert len(bus.recent(kinds=kind_filter(" , "))) == 6  # empty: every kind


async def test_a_listener_that_falls_behind_is_dropped_and_never_blocks_publishing() -> None:
    bus = EventBus(backlog=2)
    with bus.subscribe() as (_, slow), bus.subscribe() as (_, keeping_up):
        for n in range(3):  # the third overflows the slow listener's backlog of two
            bus.publish("phone.updated", {"n": n})
            await keeping_up.next(timeout=1)
        assert slow not in bus.listeners
        assert keeping_up in bus.listeners
        with pytest.raises(ListenerDropped):
            await slow.next(timeout=1)
        bus.publish("reset")
        assert (await keeping_up.next(timeout=1) or {}).get("kind") == "reset"


async def test_publishing_from_another_thread_wakes_the_listener() -> None:
    bus = EventBus()
    with bus.subscribe() as (_, subscription):
        waiting = asyncio.create_task(subscription.next(timeout=5))
        await asyncio.sleep(0)  # let it start waiting
        await asyncio.to_thread(bus.publish, "reset")
        event = await waiting
    assert event is not None and event["kind"] == "reset"


# --- events of the running mock --------------------------------------------------------


async def recent(mock: httpx.AsyncClient, after: int = 0) -> list[dict[str, Any]]:
    response = await mock.get("/_mock/events/recent", params={"after": after, "limit": 1000})
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def in_order(seen: list[str], expected: list[str]) -> bool:
    """Whether `expected` happened in this order (other events may come in between)."""
    rest = iter(seen)
    return all(kind in rest for kind in expected)


def first(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    data: dict[str, Any] = next(e["data"] for e in events if e["kind"] == kind)
    return data


async def send_text(mock: httpx.AsyncClient, text: str) -> httpx.Response:
    return await mock.post(
        f"/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": text}},
    )


async def test_a_phone_message_and_its_webhook_become_events(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    sent = await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "Hello!"})
    await drain()
    events = await recent(mock)
    assert in_order(
        kinds(events),
        [
            "phone.updated",  # the phone is new
            "message.inbound",
            "phone.updated",  # its 24-hour window opened
            "webhook.queued",
            "webhook.attempt",
        ],
    )
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    inbound = first(events, "message.inbound")
    assert inbound["id"] == sent.json()["id"]
    assert (inbound["phone"], inbound["direction"], inbound["text"]) == (PHONE, "inbound", "Hello!")
    attempt = first(events, "webhook.attempt")
    assert attempt["delivery_id"] == first(events, "webhook.queued")["delivery_id"]
    assert (attempt["attempt"], attempt["status_code"], attempt["error"]) == (1, 200, None)
    assert attempt["state"] == "delivered"
    assert attempt["latency_ms"] >= 0
    assert (
        attempt["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        == (inbound["id"])
    )
    body = json.dumps(attempt["payload"], separators=(",", ":"), ensure_ascii=False).encode()
    assert (
        attempt["signature"]
        == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )


async def test_an_outbound_message_and_its_statuses_become_events(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "Hi"})
    await drain()
    after = (await recent(mock))[-1]["seq"]
    wamid = (await send_text(mock, "Welcome!")).json()["messages"][0]["id"]
    await drain()
    events = await recent(mock, after)
    outbound = [e["data"] for e in events if e["kind"] == "message.outbound"]
    assert [(m["id"], m["text"], m["status"]) for m in outbound] == [
        (wamid, "Welcome!", "accepted")
    ]
    statuses = [e["data"] for e in events if e["kind"] == "message.status"]
    assert statuses == [
        {"id": wamid, "phone": PHONE, "status": s} for s in ("sent", "delivered", "read")
    ]
    # Each status also went out as a webhook.
    attempts = [e["data"] for e in events if e["kind"] == "webhook.attempt"]
    posted = [a["payload"]["entry"][0]["changes"][0]["value"]["statuses"][0] for a in attempts]
    assert [s["status"] for s in posted] == ["sent", "delivered", "read"]


async def test_a_send_outside_the_window_fails_with_its_error_in_the_event(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    wamid = (await send_text(mock, "Anyone there?")).json()["messages"][0]["id"]
    await drain()
    [failed] = [e["data"] for e in await recent(mock) if e["kind"] == "message.status"]
    assert (failed["id"], failed["status"]) == (wamid, "failed")
    assert [e["code"] for e in failed["errors"]] == [131047]


async def test_a_refused_graph_request_becomes_an_api_error(mock: httpx.AsyncClient) -> None:
    refused = await mock.post(
        f"/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": "Bearer wrong"},
        json={"messaging_product": "whatsapp", "to": PHONE, "text": {"body": "x"}},
    )
    invalid = await mock.post(
        f"/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"messaging_product": "whatsapp", "to": PHONE, "type": "carrier_pigeon"},
    )
    assert (refused.status_code, invalid.status_code) == (401, 400)
    errors = [e["data"] for e in await recent(mock) if e["kind"] == "api.error"]
    assert [(e["status"], e["code"]) for e in errors] == [(401, 190), (400, 100)]
    assert errors[0]["endpoint"] == f"POST /v21.0/{PHONE_NUMBER_ID}/messages"
    assert errors[0]["message"] == refused.json()["error"]["message"]
    assert errors[0]["fbtrace_id"] == refused.json()["error"]["fbtrace_id"]
    assert errors[1]["details"] == "Unsupported message type: carrier_pigeon"
    # A refusal changes nothing else.
    assert kinds(await recent(mock)) == ["api.error", "api.error"]


async def test_a_webhook_the_receiver_keeps_refusing_is_given_up(
    receiver: Receiver, create_database: Callable[[str], str]
) -> None:
    receiver.failures_left = 1000
    settings = Settings(
        app_secret=SECRET,
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        webhook_retry_for_seconds=0.05,
    )
    app = create_app(settings, webhook_client=receiver.client)
    async with app.router.lifespan_context(app):
        app.state.business.webhooks.first_backoff = 0.01
        await app.state.business.phone_sends(PHONE, {"text": "Hello?"})
        await app.state.business.webhooks.drain()
        events = app.state.bus.recent()
    attempts = [e["data"] for e in events if e["kind"] == "webhook.attempt"]
    assert len(attempts) == receiver.attempts >= 2
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
    assert {a["status_code"] for a in attempts} == {500}
    assert attempts[-1]["state"] == "pending"  # the give-up is its own event
    [gave_up] = [e["data"] for e in events if e["kind"] == "webhook.gave_up"]
    assert gave_up["attempts"] == len(attempts) and gave_up["status_code"] == 500
    assert kinds(events)[-1] == "webhook.gave_up"


async def test_clock_moves_and_reset_become_events(mock: httpx.AsyncClient) -> None:
    await mock.put("/_mock/clock", json={"now": "2031-01-01T08:00:00Z"})
    await mock.put(f"/_mock/phones/{PHONE}", json={"name": "Ada"})
    await mock.post("/_mock/reset")
    events = await recent(mock)
    # A reset empties the fault book too, and says so.
    assert kinds(events) == [
        "clock.changed",
        "phone.updated",
        "phone.updated",
        "reset",
        "fault.changed",
    ]
    clock = events[0]
    assert clock["data"]["now"].startswith("2031-01-01T08:00")
    assert clock["time"].startswith("2031-01-01T08:00")  # events carry the mock's time
    assert events[2]["data"] == {"phone": PHONE, "name": "Ada", "last_inbound_at": None}


async def test_recent_rejects_bad_paging(mock: httpx.AsyncClient) -> None:
    for params in ({"after": -1}, {"limit": 0}, {"after": "x"}):
        response = await mock.get("/_mock/events/recent", params=params)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"


def test_observing_keeps_the_journal_and_its_other_methods() -> None:
    class Recording(Journal):
        def __init__(self) -> None:
            self.written: list[str] = []

        def save_clock(self, offset_seconds: float) -> None:
            self.written.append(f"clock {offset_seconds}")

        def save_fault(self, fault: str) -> None:  # a write the bus does not know about
            self.written.append(f"fault {fault}")

    from mock_whatsapp.events import observe

    bus = EventBus()
    journal = Recording()
    assert observe(journal, bus) is journal
    journal.save_clock(60.0)
    journal.save_fault("f1")
    assert journal.written == ["clock 60.0", "fault f1"]
    assert kinds(bus.recent()) == ["clock.changed"]


async def test_a_restart_does_not_replay_old_changes_as_new(
    receiver: Receiver, create_database: Callable[[str], str]
) -> None:
    settings = Settings(
        database_url=create_database("mock_events"),
        app_secret=SECRET,
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        webhook_retry_for_seconds=30,
    )
    receiver.failures_left = 1000  # delivery is down while the phone writes
    first = create_app(settings, webhook_client=receiver.client)
    async with first.router.lifespan_context(first):
        first.state.business.webhooks.first_backoff = 20  # one attempt before the restart
        await first.state.business.phone_sends(PHONE, {"text": "Hello!"})
        while not first.state.business.webhooks.deliveries[0].attempts:
            await asyncio.sleep(0.01)

    receiver.failures_left = 0
    second = create_app(settings, webhook_client=receiver.client)
    async with second.router.lifespan_context(second):
        await second.state.business.webhooks.drain()
        events = second.state.bus.recent()
    # The restored message is not announced again; the pending webhook's next try is.
    assert kinds(events) == ["webhook.attempt"]
    assert (events[0]["data"]["attempt"], events[0]["data"]["status_code"]) == (2, 200)


async def test_resuming_after_a_seq_from_before_a_restart_gets_everything() -> None:
    bus = EventBus()  # a restarted mock: counting from 1 again
    bus.publish("phone.updated")
    bus.publish("reset")
    assert [e["seq"] for e in bus.recent(after=500)] == [1, 2]
    with bus.subscribe(after=500) as (replay, _):
        assert [e["seq"] for e in replay] == [1, 2]
    with bus.subscribe(after=2) as (replay, _):
        assert replay == []


# --- the business reads and types ----------------------------------------------------------


async def mark_read(mock: httpx.AsyncClient, wamid: str, typing: bool = True) -> None:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": wamid,
    }
    if typing:
        payload["typing_indicator"] = {"type": "text"}
    answer = await mock.post(
        f"/v21.0/{PHONE_NUMBER_ID}/messages",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json=payload,
    )
    assert answer.json() == {"success": True}


async def test_reading_and_typing_become_events_and_the_reply_ends_typing(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    one = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "one"})).json()
    two = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "two"})).json()
    await drain()
    after = (await recent(mock))[-1]["seq"]
    await mark_read(mock, two["id"])
    await mark_read(mock, two["id"])  # a repeat reads nothing new, but types again
    await send_text(mock, "Got it")
    events = await recent(mock, after)
    reads = [e["data"] for e in events if e["kind"] == "message.read_by_business"]
    # Meta marks the message and every earlier one read.
    assert reads == [{"phone": PHONE, "id": one["id"]}, {"phone": PHONE, "id": two["id"]}]
    typing = [e["data"] for e in events if e["kind"] == "typing"]
    assert [t["typing"] for t in typing] == [True, True, False]
    clock = (await mock.get("/_mock/clock")).json()
    shown_until = datetime.fromisoformat(typing[0]["until"])
    assert shown_until - datetime.fromisoformat(clock["now"]) <= timedelta(seconds=25)
    assert typing[2] == {"phone": PHONE, "typing": False, "until": None, "reason": "message"}
    # "typing…" goes as the reply arrives: the phone never shows both.
    assert in_order(kinds(events), ["message.read_by_business", "typing", "message.outbound"])
    hidden = next(e["seq"] for e in events if e["kind"] == "typing" and not e["data"]["typing"])
    assert hidden < next(e["seq"] for e in events if e["kind"] == "message.outbound")
    chat = (await mock.get(f"/_mock/phones/{PHONE}/messages")).json()
    assert [m["read_by_business"] for m in chat if m["direction"] == "inbound"] == [True, True]


async def test_a_read_receipt_without_the_indicator_does_not_type(
    mock: httpx.AsyncClient,
) -> None:
    sent = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})).json()
    after = (await recent(mock))[-1]["seq"]
    await mark_read(mock, sent["id"], typing=False)
    assert kinds(await recent(mock, after)) == ["message.read_by_business"]


async def test_typing_ends_when_the_clock_jumps_past_25_seconds(mock: httpx.AsyncClient) -> None:
    sent = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})).json()
    await mark_read(mock, sent["id"])
    after = (await recent(mock))[-1]["seq"]
    clock = (await mock.get("/_mock/clock")).json()
    later = datetime.fromisoformat(clock["now"]) + timedelta(seconds=26)
    await mock.put("/_mock/clock", json={"now": later.isoformat()})
    typing = [e["data"] for e in await recent(mock, after) if e["kind"] == "typing"]
    assert typing == [{"phone": PHONE, "typing": False, "until": None, "reason": "timeout"}]
    [phone] = (await mock.get("/_mock/phones")).json()
    assert phone["typing"] is False


async def test_typing_ends_by_itself_when_its_time_is_up(
    mock: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Meta's 25 s, shortened so that the timer itself runs out during the test.
    monkeypatch.setattr(typing_indicator, "TYPING_FOR", timedelta(milliseconds=50))
    sent = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})).json()
    bus = mock.app.state.bus  # type: ignore[attr-defined]
    with bus.subscribe() as (_, subscription):
        await mark_read(mock, sent["id"])
        seen = []
        while not seen or seen[-1]["data"]["typing"]:
            event = await subscription.next(timeout=5)
            assert event is not None, "typing never ended"
            if event["kind"] == "typing":
                seen.append(event)
    assert [e["data"]["typing"] for e in seen] == [True, False]
    assert seen[-1]["data"]["reason"] == "timeout"


async def test_a_reset_forgets_who_was_typing(mock: httpx.AsyncClient) -> None:
    sent = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})).json()
    await mark_read(mock, sent["id"])
    await mock.post("/_mock/reset")
    business = mock.app.state.business  # type: ignore[attr-defined]
    assert business.typing_timers == {}
    assert business.chats.phones == {}
