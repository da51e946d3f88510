"""The event stream (control API): Server-Sent Events, a WebSocket, and plain JSON polling.

All three take `after=<seq>` to replay what the bus still holds after that event; SSE also
honours `Last-Event-ID`, so a browser's EventSource resumes by itself. Without either, a
stream starts with the next event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from mock_whatsapp.events import Event, EventBus, ListenerDropped, Subscription
from mock_whatsapp.graph_errors import ControlError

router = APIRouter(prefix="/_mock/events", tags=["events"])

# A comment line this often keeps proxies and idle timeouts from closing a quiet stream.
HEARTBEAT_SECONDS = 15.0
# Tells EventSource how soon to reconnect after the stream ends (milliseconds).
RETRY_MS = 1000
# WebSocket close code 1013 "try again later": the listener was too slow and was dropped.
TOO_SLOW = 1013


def _bus(app_state: Any) -> EventBus:
    bus: EventBus = app_state.bus
    return bus


def _seq(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ControlError(400, "invalid_request", f"{name} must be a non-negative integer")
    return int(raw)


def to_json(event: Event) -> str:
    # default=str: a publisher's data may hold a datetime; it must not break the stream.
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str)


def sse_frame(event: Event) -> str:
    data = to_json(event)
    return f"id: {event['seq']}\nevent: {event['kind']}\ndata: {data}\n\n"


@router.get("/recent")
async def recent(
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> dict[str, list[Event]]:
    """Buffered events with seq > after, oldest first, at most `limit` of them."""
    return {"events": _bus(request.app.state).recent(after, limit)}


@router.get("", response_class=StreamingResponse)
async def stream(
    request: Request,
    after: str | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Every event as it happens, as Server-Sent Events (`id`, `event`, `data` lines)."""
    # On reconnect EventSource sends Last-Event-ID; it wins over the page's original ?after.
    start = _seq(last_event_id, "Last-Event-ID")
    if start is None:
        start = _seq(after, "after")
    bus = _bus(request.app.state)

    async def frames() -> AsyncIterator[str]:
        with bus.subscribe(start) as (replay, subscription):
            yield f"retry: {RETRY_MS}\n: connected\n\n"
            for old in replay:
                yield sse_frame(old)
            while True:
                try:
                    event = await subscription.next(HEARTBEAT_SECONDS)
                except ListenerDropped:
                    # Ending the response makes the client reconnect with Last-Event-ID.
                    yield ": dropped, too slow; reconnect to resume\n\n"
                    return
                yield sse_frame(event) if event else ": heartbeat\n\n"

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/ws")
async def stream_ws(websocket: WebSocket, after: str | None = None) -> None:
    """Every event as it happens, one JSON text frame each."""
    try:
        start = _seq(after, "after")
    except ControlError as exc:
        await websocket.close(code=1008, reason=exc.message)
        return
    await websocket.accept()
    bus = _bus(websocket.app.state)

    async def send_events(replay: list[Event], subscription: Subscription) -> None:
        for old in replay:
            await websocket.send_text(to_json(old))
        while True:
            try:
                event = await subscription.next(HEARTBEAT_SECONDS)
            except ListenerDropped:
                await websocket.close(TOO_SLOW, "too slow: reconnect with ?after=<last seq>")
                return
            if event is not None:
                await websocket.send_text(to_json(event))

    async def until_closed() -> None:
        # Listening is the only way to learn that a quiet client has gone; what it sends
        # is ignored.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    with bus.subscribe(start) as (replay, subscription):
        tasks = {
            asyncio.create_task(send_events(replay, subscription)),
            asyncio.create_task(until_closed()),
        }
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            # A client that vanished mid-send is not an error of ours.
            if isinstance(task.exception(), WebSocketDisconnect | OSError):
                continue
            task.result()
