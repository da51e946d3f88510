"""The event stream over real HTTP: SSE and WebSocket against the mock served by uvicorn."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mock_whatsapp.main import create_app
from mock_whatsapp.routers import stream
from mock_whatsapp.settings import Settings

from .conftest import PHONE_NUMBER_ID, SECRET, TOKEN, Receiver

PHONE = "15551234567"


@pytest.fixture
async def served(receiver: Receiver) -> AsyncIterator[tuple[str, FastAPI]]:
    """The mock on a free port of this host: its host:port, and the app behind it."""
    settings = Settings(
        app_secret=SECRET,
        access_token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        status_delay_seconds=0.01,
    )
    app = create_app(settings, webhook_client=receiver.client)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "uvicorn stopped while starting"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
def server(served: tuple[str, FastAPI]) -> str:
    return served[0]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for something the server does in its own time, failing after a while."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


class SseReader:
    """Reads a text/event-stream into events and comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"comments": []}
        while True:
            line = await asyncio.wait_for(anext(self.lines), timeout=10)
            if line == "":
                if len(frame) > 1 or frame["comments"]:
                    return frame
                continue
            if line.startswith(":"):
                frame["comments"].append(line[1:].strip())
            else:
                field, _, value = line.partition(": ")
                frame[field] = value

    async def next_event(self) -> dict[str, Any]:
        while True:
            frame = await self.next_frame()
            if "data" in frame:
                event: dict[str, Any] = json.loads(frame["data"])
                assert frame["id"] == str(event["seq"])
                assert frame["event"] == event["kind"]
                return event


async def phone_says(base: str, text: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{base}") as client:
        response = await client.post(f"/_mock/phones/{PHONE}/messages", json={"text": text})
        assert response.status_code == 201


async def test_sse_streams_events_as_they_happen(server: str) -> None:
    async with (
        httpx.AsyncClient(base_url=f"http://{server}", timeout=10) as client,
        client.stream("GET", "/_mock/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        hello = await reader.next_frame()
        assert hello["retry"] == "1000" and hello["comments"] == ["connected"]
        await phone_says(server, "Hello!")
        seen = [await reader.next_event() for _ in range(2)]
    assert [e["kind"] for e in seen] == ["phone.updated", "message.inbound"]
    assert seen[1]["data"]["text"] == "Hello!"
    assert seen[1]["seq"] == seen[0]["seq"] + 1


async def test_sse_resumes_after_last_event_id_or_after(server: str) -> None:
    await phone_says(server, "one")
    await phone_says(server, "two")
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=10) as client:
        everything = (await client.get("/_mock/events/recent")).json()["events"]
        inbound = [e for e in everything if e["kind"] == "message.inbound"]
        first_seq = inbound[0]["seq"]
        # Last-Event-ID (what EventSource sends on reconnect) wins over ?after.
        async with client.stream(
            "GET", "/_mock/events", params={"after": 0}, headers={"Last-Event-ID": str(first_seq)}
        ) as response:
            replayed = await SseReader(response).next_event()
        async with client.stream("GET", "/_mock/events", params={"after": first_seq}) as response:
            also = await SseReader(response).next_event()
    assert replayed == also == next(e for e in everything if e["seq"] == first_seq + 1)


async def test_sse_and_polling_take_a_filter_of_kinds(server: str) -> None:
    async with (
        httpx.AsyncClient(base_url=f"http://{server}", timeout=10) as client,
        client.stream("GET", "/_mock/events", params={"kinds": "message"}) as response,
    ):
        reader = SseReader(response)
        await reader.next_frame()  # connected
        await phone_says(server, "Hello!")
        first = await reader.next_event()
        # A phone.updated and webhook events came too, unseen; the next one seen is ours.
        await phone_says(server, "Again")
        second = await reader.next_event()
        polled = await client.get(
            "/_mock/events/recent", params={"kinds": "phone.updated,message.inbound"}
        )
        everything = (await client.get("/_mock/events/recent")).json()["events"]
    assert [first["kind"], second["kind"]] == ["message.inbound", "message.inbound"]
    assert second["data"]["text"] == "Again" and second["seq"] > first["seq"] + 1
    kinds = {e["kind"] for e in polled.json()["events"]}
    assert kinds == {"phone.updated", "message.inbound"}
    assert {e["kind"] for e in everything} > kinds  # unfiltered: webhooks as well


async def test_sse_sends_heartbeats_when_quiet(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.05)
    async with (
        httpx.AsyncClient(base_url=f"http://{server}", timeout=10) as client,
        client.stream("GET", "/_mock/events") as response,
    ):
        reader = SseReader(response)
        await reader.next_frame()  # connected
        assert (await reader.next_frame())["comments"] == ["heartbeat"]


async def test_sse_rejects_a_bad_last_event_id_or_after(server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        for bad in ({"headers": {"Last-Event-ID": "abc"}}, {"params": {"after": "²"}}):
            response = await client.get("/_mock/events", **bad)
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "invalid_request"


async def test_closed_clients_are_unsubscribed(served: tuple[str, FastAPI]) -> None:
    server, app = served
    bus = app.state.bus
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=10) as client:
        async with client.stream("GET", "/_mock/events") as response:
            await SseReader(response).next_frame()
            assert len(bus.listeners) == 1
        await until(lambda: not bus.listeners)
    async with connect(f"ws://{server}/_mock/events/ws") as ws:
        await until(lambda: len(bus.listeners) == 1)
        await ws.close()
    await until(lambda: not bus.listeners)


async def test_a_websocket_client_that_stops_reading_is_dropped(
    served: tuple[str, FastAPI],
) -> None:
    server, app = served
    bus = app.state.bus
    bus.backlog = 5
    bulk = os.urandom(48000).hex()  # random, so that permessage-deflate cannot shrink it
    # A fixed, small receive buffer: the kernel would otherwise grow it to tens of MB.
    host, port = server.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    async with connect(f"ws://{server}/_mock/events/ws", sock=sock, max_queue=1) as ws:
        await until(lambda: len(bus.listeners) == 1)
        # The client reads nothing while far more than the socket buffers hold is
        # published: publishing goes on regardless, and the listener is cut off.
        for n in range(300):
            bus.publish("phone.updated", {"n": n, "bulk": bulk})
            await asyncio.sleep(0)  # let the server's sender run
        await until(lambda: not bus.listeners)
        received = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    # What did arrive is in order and without gaps, so a reconnect with ?after=<last>
    # loses nothing the buffer still holds.
    assert received == list(range(1, len(received) + 1))
    assert len(received) < 300


async def test_websocket_replays_after_seq_then_streams(server: str) -> None:
    await phone_says(server, "before")
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        events = (await client.get("/_mock/events/recent")).json()["events"]
    before = next(e for e in events if e["kind"] == "message.inbound")
    async with connect(f"ws://{server}/_mock/events/ws?after={before['seq'] - 1}") as ws:
        replayed = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert replayed == before
        # The rest of what happened before connecting, then what happens after.
        rest = [
            json.loads(await asyncio.wait_for(ws.recv(), 10))
            for e in events
            if e["seq"] > before["seq"]
        ]
        await phone_says(server, "after")
        live = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
    assert [e["seq"] for e in rest] == [e["seq"] for e in events if e["seq"] > before["seq"]]
    assert [e["kind"] for e in live] == ["message.inbound", "phone.updated"]
    assert live[0]["data"]["text"] == "after"
    assert live[0]["seq"] == events[-1]["seq"] + 1


async def test_websocket_without_after_starts_with_the_next_event(server: str) -> None:
    await phone_says(server, "old news")
    async with connect(f"ws://{server}/_mock/events/ws") as ws:
        async with httpx.AsyncClient(base_url=f"http://{server}") as client:
            await client.put("/_mock/clock", json={"now": "2031-01-01T00:00:00Z"})
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert event["kind"] == "clock.changed"


async def test_websocket_rejects_a_bad_after(server: str) -> None:
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with connect(f"ws://{server}/_mock/events/ws?after=-3") as ws:
            await asyncio.wait_for(ws.recv(), 10)


async def test_events_other_modules_publish_are_streamed(served: tuple[str, FastAPI]) -> None:
    server, app = served
    async with connect(f"ws://{server}/_mock/events/ws") as ws:
        await until(lambda: len(app.state.bus.listeners) == 1)
        app.state.bus.publish(
            "fault.injected", {"id": "f1", "until": datetime(2031, 1, 1, tzinfo=UTC)}
        )
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert event["kind"] == "fault.injected"
    assert event["data"] == {"id": "f1", "until": "2031-01-01 00:00:00+00:00"}
