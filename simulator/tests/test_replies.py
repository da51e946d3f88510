"""Reply matching: the mock's events paired with the messages participants wait on."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from promptpipe_simulator.core.replies import (
    FALLBACK_APOLOGY,
    FALLBACKS,
    SETTLE_SECONDS,
    Duplicate,
    ReplyBook,
)

PHONE = "15550000001"


def message(direction: str, wamid: str, at: str, text: str = "", **more: Any) -> dict[str, Any]:
    return {
        "id": wamid,
        "direction": direction,
        "type": "text",
        "text": text,
        "timestamp": f"2026-01-01T12:00:{at}Z",
        **more,
    }


def event(kind: str, data: dict[str, Any], seq: int = 1) -> dict[str, Any]:
    return {"seq": seq, "time": "2026-01-01T12:00:00Z", "kind": kind, "data": data}


def inbound(wamid: str, at: str, phone: str = PHONE) -> dict[str, Any]:
    return event("message.inbound", {"phone": phone, **message("inbound", wamid, at)})


def outbound(wamid: str, at: str, text: str = "ok", phone: str = PHONE, **more: Any) -> dict:
    return event(
        "message.outbound", {"phone": phone, **message("outbound", wamid, at, text, **more)}
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def duplicates() -> list[Duplicate]:
    return []


@pytest.fixture
def book(clock: Clock, duplicates: list[Duplicate]) -> ReplyBook:
    book = ReplyBook(on_duplicate=duplicates.append, clock=clock)
    book.watch(PHONE)
    return book


def test_a_reply_that_came_before_the_wait_is_handed_over_at_once(book: ReplyBook) -> None:
    # The stream is faster than the answer to the participant's own POST: the message
    # and its reply are both seen before the participant says it sent anything.
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.out1", "00.250", "Hi there!"))
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000", "Hello!"), "hello")
    reply = book.wait("wamid.in1", timeout=0)
    assert reply is not None
    assert reply.message["text"] == "Hi there!"
    assert reply.step == "hello"
    assert reply.latency == pytest.approx(0.25)
    assert book.unanswered() == []


def test_a_waiting_participant_is_woken_by_its_reply(book: ReplyBook) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "hello")
    book.take(inbound("wamid.in1", "00.000"))
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(book.wait("wamid.in1", timeout=10)))
    waiter.start()
    book.take(outbound("wamid.out1", "00.100", "Hi!", interactive={"buttons": [{"id": "a"}]}))
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    assert got[0] is not None and got[0].buttons == [{"id": "a"}]


def test_a_second_reply_to_one_message_is_a_duplicate(
    book: ReplyBook, duplicates: list[Duplicate]
) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "personalize")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.out1", "00.100", "What habit?"))
    book.take(outbound("wamid.out2", "00.300", "What habit?"))
    assert [(d.phone, d.message_id, d.step) for d in duplicates] == [
        (PHONE, "wamid.in1", "personalize")
    ]
    assert duplicates[0].message["id"] == "wamid.out2"
    reply = book.wait("wamid.in1", timeout=0)
    assert reply is not None and reply.message["id"] == "wamid.out1"  # the first one counts
    assert book.unsolicited(PHONE) == []


def test_a_message_with_no_reply_is_lost_after_the_wait(book: ReplyBook) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "hello")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.other", "00.100", phone="15559999999"))  # someone else's
    assert book.wait("wamid.in1", timeout=0.05) is None
    assert book.unanswered() == [(PHONE, "wamid.in1", "hello")]


def test_messages_of_phones_nobody_watches_are_ignored(book: ReplyBook) -> None:
    book.take(inbound("wamid.x", "00.000", phone="15559999999"))
    book.take(outbound("wamid.y", "00.100", phone="15559999999"))
    assert book.turns == {} and book.unsolicited("15559999999") == []


def test_after_a_clock_move_an_extra_message_is_a_due_job_not_a_duplicate(
    book: ReplyBook, clock: Clock, duplicates: list[Duplicate]
) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "small talk")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.out1", "00.100"))
    clock.now += 60
    book.take(event("clock.changed", {"now": "2026-01-02T07:20:00Z", "offset_seconds": 69600}))
    prompt = outbound("wamid.prompt", "00.200", "Time for your habit!")
    book.take(prompt)
    assert duplicates == []
    assert [m["id"] for m in book.unsolicited(PHONE)] == ["wamid.prompt"]
    assert book.unsolicited(PHONE) == []  # taken out


def test_a_job_due_just_before_a_message_but_sent_after_it_is_not_a_duplicate(
    book: ReplyBook, clock: Clock, duplicates: list[Duplicate]
) -> None:
    book.take(event("clock.changed", {"now": "2026-01-01T15:00:00Z", "offset_seconds": 10800}))
    clock.now += SETTLE_SECONDS / 2
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "tap Done")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.job", "00.010", "Last check-in"))
    book.take(outbound("wamid.reply", "00.050", "What helped?"))
    assert duplicates == []
    assert [m["id"] for m in book.unsolicited(PHONE)] == ["wamid.reply"]


def test_a_clock_jump_between_a_message_and_its_reply_is_not_latency(book: ReplyBook) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "hello")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(event("clock.changed", {"now": "2026-01-01T13:00:00Z", "offset_seconds": 3600}))
    reply = event(
        "message.outbound",
        {"phone": PHONE, **message("outbound", "wamid.out1", "00.000", "Hi")},
    )
    reply["data"]["timestamp"] = "2026-01-01T13:00:00.400000Z"  # an hour later on the mock
    book.take(reply)
    got = book.wait("wamid.in1", timeout=0)
    assert got is not None and got.latency == pytest.approx(0.4)


def test_a_message_without_timestamps_has_no_latency(book: ReplyBook) -> None:
    book.sent(PHONE, {"id": "wamid.in1"}, "hello")
    book.take(event("message.outbound", {"phone": PHONE, "id": "wamid.out1"}))
    got = book.wait("wamid.in1", timeout=0)
    assert got is not None and math.isnan(got.latency)


def test_a_business_message_before_any_of_the_participants_is_unsolicited(
    book: ReplyBook, duplicates: list[Duplicate]
) -> None:
    book.take(outbound("wamid.welcome", "00.000", "Welcome!"))
    assert duplicates == []
    assert [m["id"] for m in book.unsolicited(PHONE)] == ["wamid.welcome"]


def test_the_agents_late_answer_after_an_apology_is_not_a_duplicate(
    book: ReplyBook, duplicates: list[Duplicate]
) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "personalize")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.out1", "00.100", FALLBACK_APOLOGY))
    reply = book.wait("wamid.in1", timeout=0)
    assert reply is not None and reply.fallback
    book.take(outbound("wamid.out2", "05.000", "What habit?"))  # the agent is back
    assert duplicates == []
    book.take(outbound("wamid.out3", "05.100", "What habit?"))  # but only once
    assert [d.message["id"] for d in duplicates] == ["wamid.out3"]


@pytest.mark.parametrize("fallback", sorted(FALLBACKS))  # the apology or the Go responder's
def test_a_late_answer_quoting_its_message_is_paired_with_it_after_the_next_message(
    book: ReplyBook, duplicates: list[Duplicate], fallback: str
) -> None:
    book.sent(PHONE, message("inbound", "wamid.in1", "00.000"), "hello")
    book.take(inbound("wamid.in1", "00.000"))
    book.take(outbound("wamid.out1", "00.100", fallback))
    first = book.wait("wamid.in1", timeout=0)
    assert first is not None and first.fallback
    book.sent(PHONE, message("inbound", "wamid.in2", "03.000"), "personalize")
    book.take(inbound("wamid.in2", "03.000"))
    book.take(outbound("wamid.out2", "03.100", "Hi there!", context_id="wamid.in1"))
    book.take(outbound("wamid.out3", "03.200", "What habit?"))
    reply = book.wait("wamid.in2", timeout=0)
    assert reply is not None and reply.message["id"] == "wamid.out3"
    assert duplicates == []
