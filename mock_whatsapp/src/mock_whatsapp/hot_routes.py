"""The two routes that carry the load, a phone's message (`POST /_mock/phones/{phone}/
messages`) and a Graph send (`POST /v{N}.0/{phone_number_id}/messages`), served without
FastAPI's per-request machinery when their request is an ordinary one.

FastAPI spent more CPU on each of these requests than the mock's own work did (measured
in process: 206 µs a phone's message through the app against 94 µs for the work itself),
in its middleware, routing, dependency solving and validation wrappers. This ASGI
middleware recognizes the two paths, reads a JSON object body, and calls the same
handlers the FastAPI routes call (`phones.phone_sends_checked`, `graph.send_parsed`),
with the same model validating a phone's body. Whatever is not ordinary goes on to FastAPI
untouched, before anything has happened, so that every refusal keeps its documented
shape: a body that is not a JSON object (orjson is stricter than json, which then gets
to decide), no `application/json` content type, no declared length, a phone's body the
model refuses. An error raised once the handler runs is answered by the app's own
exception handlers, as FastAPI would. The routes stay declared in FastAPI, which serves
everything else about them (the OpenAPI document, 405s, the fallbacks above).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_whatsapp.routers import graph, phones

PHONE_MESSAGES = re.compile(r"^/_mock/phones/([^/]+)/messages$")
GRAPH_MESSAGES = re.compile(r"^/v\d+\.\d+/([^/]+)/messages$")


def _header(scope: Scope, name: bytes) -> str | None:
    # The first of a repeated header, as FastAPI's Header() and Starlette's Headers take.
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ConnectionAbortedError  # the client went away: nothing to answer
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for FastAPI after the body was read here: the body first, then the rest."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


class HotRoutes:
    """ASGI middleware: the load's two routes on a short path, the rest to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        phone = PHONE_MESSAGES.match(path)
        graph_send = None if phone else GRAPH_MESSAGES.match(path)
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        length = _header(scope, b"content-length") or ""
        if (
            (phone is None and graph_send is None)
            or content_type != "application/json"
            or not length.isdigit()
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await _body(receive)
        except ConnectionAbortedError:
            return
        try:
            payload: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            await self.app(scope, _replaying(body, receive), send)
            return
        request = Request(scope, _replaying(body, receive))
        if phone is not None:
            try:
                checked = phones.PhoneMessage.model_validate(payload)
            except ValidationError:
                await self.app(scope, _replaying(body, receive), send)
                return
            answer = self._answer(
                request,
                phones.phone_sends_checked(request.app.state.business, phone[1], checked),
            )
        else:
            assert graph_send is not None
            answer = self._answer(
                request,
                graph.send_parsed(
                    request,
                    graph_send[1],
                    _header(scope, b"authorization") or "",
                    _header(scope, b"idempotency-key"),
                    payload,
                ),
            )
        response = await answer
        await response(scope, request.receive, send)

    @staticmethod
    async def _answer(request: Request, handling: Any) -> Response:
        """The handler's response, or the app's exception handler's for what it raised."""
        try:
            response: Response = await handling
        except Exception as exc:
            handlers = request.app.exception_handlers
            cls = next(c for c in type(exc).__mro__ if c in handlers)
            response = await handlers[cls](request, exc)
        return response
