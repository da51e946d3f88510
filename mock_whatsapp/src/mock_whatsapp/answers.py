"""JSON answers written by orjson, for the routes that answer most (a Graph send, a
phone's message, a chat read): returned as a response, they skip FastAPI's generic
encoding."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
