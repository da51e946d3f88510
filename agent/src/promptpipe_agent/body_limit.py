"""A cap on request bodies: a larger one is refused (413) before it is read.

Hand-made, not FastAPI's `max_body_size`: that one answers a body whose Content-Length is
over the cap with plain text, and every refusal of this API is its JSON error.
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
    """ASGI middleware: bodies over `max_bytes` are refused with `refuse(scope)`."""

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Callable[[Scope], Response]) -> None:
        self.app, self.max_bytes, self.refuse = app, max_bytes, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(scope)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)
