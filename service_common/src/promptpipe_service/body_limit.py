"""A cap on request bodies: a larger one is refused (413) before it is read.

Every body is held to one cap but for the few requests a service names as larger (a
saved world, a media upload). Hand-made, not FastAPI's `max_body_size`: that one answers
a body whose Content-Length is over the cap with plain text, and every refusal of the
services is in their API's error shape, which `refuse` makes.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised while a body without a declared length grows past the cap; the app's
    HTTPException handler turns it into its 413."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")


class BodyLimit:
    """ASGI middleware: bodies over `max_bytes` are refused with `refuse(scope)`, but for
    the requests for which `larger(scope)` gives a larger cap of their own."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        refuse: Callable[[Scope], Response],
        larger: Callable[[Scope], int | None] | None = None,
    ) -> None:
        self.app, self.max_bytes, self.refuse, self.larger = app, max_bytes, refuse, larger

    def cap(self, scope: Scope) -> int:
        """The most this request's body may hold: never less than `max_bytes`."""
        own = self.larger(scope) if self.larger else None
        return self.max_bytes if own is None else max(self.max_bytes, own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > cap:
            await self.refuse(scope)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)
