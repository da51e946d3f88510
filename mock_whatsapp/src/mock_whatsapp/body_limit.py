"""A cap on request bodies: a larger one is refused (413) before it is read.

Media uploads may be as large as Meta's largest media; every other body is small. Hand-
made, not FastAPI's `max_body_size`: that one answers a body whose Content-Length is over
the cap with plain text, and every refusal of this mock is in its API's error shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_whatsapp.media import MEDIA_LIMITS

# POST /v{N}.0/{phone_number_id}/media: Meta's largest media plus the multipart envelope.
MEDIA_UPLOAD = re.compile(r"^/v\d+\.\d+/[^/]+/media$")
MEDIA_UPLOAD_BYTES = max(limit for _, limit in MEDIA_LIMITS.values()) + 2**20


class BodyTooLarge(HTTPException):
    """Raised while a body without a declared length grows past the cap; the app's
    HTTPException handler turns it into its 413."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")


class BodyLimit:
    """ASGI middleware: bodies over the path's cap are refused with `refuse(scope)`."""

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Callable[[Scope], Response]) -> None:
        self.app, self.max_bytes, self.refuse = app, max_bytes, refuse

    def cap(self, scope: Scope) -> int:
        if MEDIA_UPLOAD.match(scope["path"]):
            return max(self.max_bytes, MEDIA_UPLOAD_BYTES)
        return self.max_bytes

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
