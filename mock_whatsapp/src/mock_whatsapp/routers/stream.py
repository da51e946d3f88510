"""The event stream (control API): Server-Sent Events, a WebSocket, and plain JSON polling.

All three take `after=<seq>` to replay what the bus still holds after that event; SSE also
honours `Last-Event-ID`, so a browser's EventSource resumes by itself. Without either, a
stream starts with the next event. All three take `kinds=<kind>,<kind>` to get only those
kinds (`message` is every `message.*`); without it, every event. A filtered listener is
spared the encoding and the parsing of what it would throw away (a webhook event carries
its whole payload); its seqs have gaps, and it resumes with `after` as any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from sse_starlette import EventSourceResponse, ServerSentEvent

from mock_whatsapp.events import Event, EventBus, ListenerDropped, Subscription, kind_filter
from mock_whatsapp.graph_errors import ControlError

router = APIRouter(prefix="/_mock/events", tags=["events"])

# A comment line this often keeps proxies and idle timeouts from closing a quiet stream.
HEARTBEAT_SECONDS = 15.0
# Tells EventSource how soon to reconnect after the stream ends (milliseconds).
RETRY_MS = 1000
# WebSocket close code 1013 "try again later": the listener was too slow and was dropped.
TOO_SLOW = 1013
# A listener whose socket takes no byte for this long is cut off like one that fell behind.
SEND_TIMEOUT_SECONDS = 30.0

KINDS_DESCRIPTION = (
    "Only these kinds, comma-separated: `message.status,clock.changed`; a prefix before "
    "the dot takes every kind under it (`message` is every `message.*`). Absent or "
    "empty: every event."
)
Kinds = Annotated[str | None, Query(description=KINDS_DESCRIPTION)]


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
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(event, default=str, option=options).decode()


def sse_event(event: Event) -> ServerSentEvent:
    return ServerSentEvent(to_json(event), id=str(event["seq"]), event=event["kind"], sep="\n")


@router.get("/recent")
async def recent(
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    kinds: Kinds = None,
) -> dict[str, list[Event]]:
    """Buffered events with seq > after, oldest first, at most `limit` of them."""
    return {"events": _bus(request.app.state).recent(after, limit, kind_filter(kinds))}


@router.get("", response_class=EventSourceResponse)
async def stream(
    request: Request,
    after: str | None = None,
    kinds: Kinds = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Every event as it happens, as Server-Sent Events (`id`, `event`, `data` lines)."""
    # On reconnect EventSource sends Last-Event-ID; it wins over the page's original ?after.
    start = _seq(last_event_id, "Last-Event-ID")
    if start is None:
        start = _seq(after, "after")
    bus = _bus(request.app.state)

    async def frames() -> AsyncIterator[ServerSentEvent | bytes]:
        with bus.subscribe(start, kind_filter(kinds)) as (replay, subscription):
            # Written as bytes: the retry line first, as this stream always began.
            yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
            for old in replay:
                yield sse_event(old)
            while True:
                try:
                    event = await subscription.next(HEARTBEAT_SECONDS)
                except ListenerDropped:
                    # Ending the response makes the client reconnect with Last-Event-ID.
                    yield ServerSentEvent(
                        comment="dropped, too slow; reconnect to resume", sep="\n"
                    )
                    return
                if event is not None:
                    # The events that came with it go in the same write: a burst (a
                    # message makes a dozen) costs one send, not one each.
                    burst = [event, *subscription.take_waiting()]
                    yield b"".join(sse_event(e).encode() for e in burst)

    # sse-starlette writes the frames, the heartbeat comment (its ping) while the stream
    # is quiet or not, and cuts off a client whose socket takes nothing for a while.
    return EventSourceResponse(
        frames(),
        ping=HEARTBEAT_SECONDS,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat", sep="\n"),
        sep="\n",
        send_timeout=SEND_TIMEOUT_SECONDS,
    )


@router.websocket("/ws")
async def stream_ws(
    websocket: WebSocket, after: str | None = None, kinds: str | None = None
) -> None:
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

    with bus.subscribe(start, kind_filter(kinds)) as (replay, subscription):
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
