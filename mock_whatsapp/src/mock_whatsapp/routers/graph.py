"""The business side, as Meta's Graph API: POST /v{N}.0/{phone_number_id}/messages."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from mock_whatsapp.business import Business
from mock_whatsapp.graph_errors import GraphError, invalid_parameter

router = APIRouter(tags=["graph api"])

VERSION = re.compile(r"^v\d+\.\d+$")


@router.post("/{version}/{phone_number_id}/messages")
async def send_message(
    version: str,
    phone_number_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
    idempotency_key: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    business: Business = request.app.state.business
    settings = business.settings
    token = authorization.removeprefix("Bearer ").strip()
    if not hmac.compare_digest(token.encode(), settings.access_token.get_secret_value().encode()):
        raise GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")
    if not VERSION.match(version):
        raise GraphError(400, 2500, "Unknown path components", f"/{version}", "OAuthException")
    if phone_number_id != settings.phone_number_id:
        raise GraphError(
            400,
            100,
            "Unsupported post request",
            f"Object with ID '{phone_number_id}' "
            "does not exist, cannot be loaded due to missing permissions, or does not "
            "support this operation",
            "GraphMethodException",
        )
    try:
        payload = await request.json()
    except ValueError as exc:
        raise invalid_parameter("request body must be JSON") from exc
    if not isinstance(payload, dict):
        raise invalid_parameter("request body must be a JSON object")
    return business.send(payload, idempotency_key)
