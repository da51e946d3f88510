"""Following mock_whatsapp's event stream: SSE with resume, and trouble."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import EventSource

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.events import EventFollower, Typing, event_from_sse


def event(seq: int, kind: str = "phone.updated", **data: Any) -> dict[str, Any]:
    return {"seq": seq, "time": "2026-01-01T12:00:00Z", "kind": kind, "data": data}


def sse(*events: dict[str, Any]) -> bytes:
    frames = ["retry: 1000\n: connected\n\n"]
    frames += [f"id: {e['seq']}\nevent: {e['kind']}\ndata: {json.dumps(e)}\n\n" for e in events]
    frames.append(": heartbeat\n\n")
    return "".join(frames).encode()


class Recorder:
    """The follower's callbacks, recorded; `stop_after` events cancel the run."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.troubles: list[StackError] = []
        self.recoveries = 0

    def follower(self, handler: Callable[[httpx.Request], httpx.Response]) -> EventFollower:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        return EventFollower(
            http,
            "http://mock",
            self.events.extend,
            self.troubles.append,
            self.recovered,
            retry_seconds=0.01,
            max_retry_seconds=0.02,
        )

    def recovered(self) -> None:
        self.recoveries += 1


async def run_until(follower: EventFollower, condition: Callable[[], bool]) -> None:
    task = asyncio.create_task(follower.run())
    for _ in range(500):
        if condition() or task.done():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert condition(), "the follower never got there"


def decoded(stream: str) -> list[dict[str, Any] | None]:
    """What the follower makes of each SSE message of a stream, as httpx-sse splits it."""
    response = httpx.Response(200, text=stream, headers={"content-type": "text/event-stream"})
    return [event_from_sse(message) for message in EventSource(response).iter_sse()]


def test_sse_frames_carry_the_event_and_comments_carry_nothing() -> None:
    e = event(3, "typing", phone="1555", typing=True)
    assert decoded(f"id: 3\nevent: typing\ndata: {json.dumps(e)}\n\n") == [e]
    assert decoded(": heartbeat\n\n") == []
    assert decoded("retry: 1000\n\n") == [None]
    assert decoded("data: not json\n\n") == [None]
    assert decoded('data: {"seq": "7", "kind": "x"}\n\n') == [None]  # never a crash later
    assert decoded('data: {"seq": 7, "kind": "x", "data": null}\n\n') == [
        {"seq": 7, "kind": "x", "data": {}}
    ]
    # A frame's data split over several lines is joined with newlines, as SSE says.
    assert decoded('data: {"seq": 8,\ndata: "kind": "x", "data": {}}\n\n') == [
        {"seq": 8, "kind": "x", "data": {}}
    ]


async def test_the_stream_resumes_after_the_last_seq_it_saw() -> None:
    afters: list[str] = []
    batches = [[event(1), event(2)], [event(3, "reset")]]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/_mock/events"
        afters.append(request.url.params["after"])
        batch = batches.pop(0) if batches else []
        # Each connection ends after its batch, as the mock ends a dropped listener's.
        return httpx.Response(
            200, content=sse(*batch), headers={"content-type": "text/event-stream"}
        )

    recorder = Recorder()
    follower = recorder.follower(handler)
    await run_until(follower, lambda: len(recorder.events) == 3 and len(afters) >= 3)
    assert [e["seq"] for e in recorder.events] == [1, 2, 3]
    assert afters[:3] == ["0", "2", "3"]
    assert recorder.troubles == []


async def test_a_restarted_mock_counting_from_one_again_is_followed() -> None:
    batches = [[event(7), event(8)], [event(1), event(2)]]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=sse(*(batches.pop(0) if batches else [])),
            headers={"content-type": "text/event-stream"},
        )

    recorder = Recorder()
    follower = recorder.follower(handler)
    await run_until(follower, lambda: len(recorder.events) == 4)
    assert follower.last_seq == 2


async def test_a_refusing_mock_is_trouble_told_once_and_retried() -> None:
    """A 404 (a mock behind a proxy that lost the route, say) or an answer that is not an
    event stream is trouble like a dropped connection: told once, and tried again."""
    answers = [
        httpx.Response(404, json={"detail": "Not Found"}),
        httpx.Response(200, json={"not": "a stream"}),
        httpx.Response(200, content=sse(event(1)), headers={"content-type": "text/event-stream"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    recorder = Recorder()
    follower = recorder.follower(handler)
    await run_until(follower, lambda: len(recorder.events) >= 1)
    assert [e["seq"] for e in recorder.events][:1] == [1]
    assert len(recorder.troubles) == 1 and "HTTP 404" in str(recorder.troubles[0])
    assert recorder.recoveries == 1


async def test_network_trouble_is_told_once_and_the_follower_reconnects() -> None:
    failures = 4

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal failures
        if failures:
            failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(
            200, content=sse(event(1)), headers={"content-type": "text/event-stream"}
        )

    recorder = Recorder()
    follower = recorder.follower(handler)
    await run_until(follower, lambda: len(recorder.events) == 1)
    assert len(recorder.troubles) == 1 and "not reachable" in str(recorder.troubles[0])
    assert recorder.recoveries == 1


def test_typing_follows_the_mock_and_goes_stale_without_its_end() -> None:
    now = [100.0]
    typing = Typing(clock=lambda: now[0], stale_seconds=30)
    assert not typing.shows("1555")
    changed = typing.apply([event(1, "typing", phone="1555", typing=True, until="x")])
    assert changed == {"1555"} and typing.shows("1555")
    typing.apply([event(2, "typing", phone="1555", typing=False, reason="message")])
    assert not typing.shows("1555")
    typing.apply([event(3, "typing", phone="1555", typing=True)])
    now[0] += 31  # its end was lost (say, with the connection)
    assert not typing.shows("1555")
    typing.apply([event(4, "typing", phone="1666", typing=True), event(5, "reset")])
    assert not typing.shows("1666")
