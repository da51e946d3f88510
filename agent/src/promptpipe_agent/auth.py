"""Who may call the agent: callers holding the shared bearer token (AGENT_API_TOKEN).

delivery sends it with every turn; the stack's tools (simulator, tests, bench) send it to
read conversations. Health endpoints stay open for orchestration. An agent started with no
token refuses every protected call: it fails closed rather than serve conversations to
anyone on the machine.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BeforeValidator

from promptpipe_agent.errors import ErrorBody, Unauthorized
from promptpipe_agent.settings import Settings

# auto_error=False: a missing header becomes our own 401 in the agent's error shape, not
# FastAPI's {"detail": ...}. The scheme also documents the token in the OpenAPI document.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AgentToken",
    description="AGENT_API_TOKEN, sent as `Authorization: Bearer <token>`.",
)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def require_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """Refuse (401) a call without the agent's token."""
    expected = _settings(request).api_token.get_secret_value()
    given = credentials.credentials if credentials else ""
    # compare_digest: the time taken does not tell how much of a guess was right.
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("Send the agent's token: Authorization: Bearer <AGENT_API_TOKEN>.")


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    # pydantic would also read a bare number as Unix time; the header is RFC 3339 only.
    if isinstance(value, str) and not RFC3339.match(value):
        raise ValueError("X-PromptPipe-Now must be an RFC 3339 time, e.g. 2030-01-02T07:50:00Z")
    return value


VirtualNow = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


async def trusted_now(
    request: Request,
    _: Annotated[None, Depends(require_caller)],
    x_promptpipe_now: Annotated[VirtualNow | None, Header()] = None,
) -> datetime | None:
    """The turn's "now" from X-PromptPipe-Now: honoured only on a virtual clock
    (DEV_CLOCK=true) and from an authenticated caller; otherwise the real time is used."""
    return x_promptpipe_now if _settings(request).dev_clock else None


# For app.include_router: the routers behind the token, and their documented 401.
REQUIRED = [Depends(require_caller)]
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "No valid `Authorization: Bearer <AGENT_API_TOKEN>` header.",
    }
}
