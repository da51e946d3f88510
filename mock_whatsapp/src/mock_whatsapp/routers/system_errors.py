"""Control API: send a `value.errors[]` system webhook on demand (/_mock/webhooks/errors)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from promptpipe_service.storable import StorableInput
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mock_whatsapp import system_errors
from mock_whatsapp.business import Business
from mock_whatsapp.graph_errors import META_ERRORS, ControlError
from mock_whatsapp.schemas import CONTROL_ERRORS

router = APIRouter(tags=["faults"])


class SystemErrorRequest(StorableInput):
    """A system-level error Meta reports by webhook, for one business number."""

    model_config = ConfigDict(extra="forbid", strict=True)

    error_code: int = Field(description="A Meta error code, e.g. 130429 or 131000")
    details: str = Field(
        default="A system-level problem kept a request from being processed.", max_length=2000
    )
    phone_number_id: str | None = Field(default=None, description="Default: the first number")

    @field_validator("error_code")
    @classmethod
    def _known(cls, code: int) -> int:
        if code not in META_ERRORS:
            raise ValueError(f"error_code {code} is not a Meta code the mock knows")
        return code


class SystemErrorSent(BaseModel):
    deliveries: list[int]
    payload: dict[str, Any]


@router.post(
    "/_mock/webhooks/errors",
    status_code=201,
    response_model=SystemErrorSent,
    responses=CONTROL_ERRORS,
)
async def send_system_error(body: SystemErrorRequest, request: Request) -> dict[str, Any]:
    """Post a `messages` webhook with `value.errors[]` (no message, no status) to every
    subscriber, signed like any other."""
    business: Business = request.app.state.business
    number = business.default_number
    if body.phone_number_id is not None:
        if body.phone_number_id not in business.numbers:
            raise ControlError(404, "not_found", f"no business number {body.phone_number_id!r}")
        number = business.numbers[body.phone_number_id]
    payload = system_errors.system_error(number, body.error_code, body.details)
    sent = await business.webhooks.send_acknowledged(payload)
    return {"deliveries": [d.id for d in sent], "payload": payload}
