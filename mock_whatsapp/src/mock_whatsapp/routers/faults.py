"""Control API for faults, limits and status quirks: /_mock/faults, /_mock/limits and
/_mock/status-quirks."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from mock_whatsapp.business import Business
from mock_whatsapp.graph_errors import META_ERRORS, ControlError
from mock_whatsapp.schemas import CONTROL_ERRORS

router = APIRouter(tags=["faults"])


class FaultSpec(BaseModel):
    """A fault to add. Messages and media faults answer a Meta error and/or add latency;
    webhook faults drop, duplicate, delay or mis-sign the webhooks they hit."""

    # Strict: "0.5" is not a probability and true is not an error code.
    model_config = ConfigDict(extra="forbid", strict=True)

    target: Literal["messages", "media", "webhooks"]
    error_code: int | None = Field(default=None, description="A Meta error code")
    probability: float = Field(default=1.0, ge=0, le=1)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    webhook: Literal["drop", "duplicate", "delay", "bad_signature"] | None = None
    delay_seconds: float = Field(default=0.0, ge=0, le=86_400)
    times: int | None = Field(default=None, ge=1, description="Expires after this many hits")
    report: Literal["response", "webhook"] = Field(
        default="response",
        description="webhook: the send is accepted and its error_code comes as a "
        "value.errors[] system webhook instead",
    )

    @model_validator(mode="after")
    def _coherent(self) -> FaultSpec:
        if self.error_code is not None and self.error_code not in META_ERRORS:
            known = ", ".join(str(c) for c in META_ERRORS)
            raise ValueError(
                f"error_code {self.error_code} is not a Meta code the mock knows ({known})"
            )
        if self.target == "webhooks" and self.error_code is not None:
            raise ValueError("error_code applies to messages and media, not webhooks")
        if self.target != "webhooks" and self.webhook is not None:
            raise ValueError("webhook applies to target webhooks only")
        if self.webhook == "delay" and self.delay_seconds <= 0:
            raise ValueError('webhook "delay" needs delay_seconds > 0')
        if self.report == "webhook" and (self.target != "messages" or self.error_code is None):
            raise ValueError('report "webhook" needs target messages and an error_code')
        if self.error_code is None and self.webhook is None and self.latency_ms == 0:
            raise ValueError("a fault needs an error_code, a webhook action or latency_ms")
        return self


class FaultView(FaultSpec):
    id: str
    hits: int


class FaultCreated(BaseModel):
    fault: FaultView


class LimitsView(BaseModel):
    window_24h: bool
    pair_rate_limit: bool
    throughput: bool


class FaultList(BaseModel):
    faults: list[FaultView]
    limits: LimitsView


class LimitsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_24h: StrictBool | None = None
    pair_rate_limit: StrictBool | None = None
    throughput: StrictBool | None = None


def _business(request: Request) -> Business:
    business: Business = request.app.state.business
    return business


@router.post(
    "/_mock/faults", status_code=201, response_model=FaultCreated, responses=CONTROL_ERRORS
)
async def add_fault(spec: FaultSpec, request: Request) -> dict[str, Any]:
    fault = _business(request).faults.add(**spec.model_dump())
    return {"fault": fault.view()}


@router.get("/_mock/faults", response_model=FaultList)
async def list_faults(request: Request) -> dict[str, Any]:
    business = _business(request)
    return {
        "faults": [f.view() for f in business.faults.faults],
        "limits": business.limits.view(),
    }


@router.delete("/_mock/faults/{fault_id}", status_code=204, responses=CONTROL_ERRORS)
async def delete_fault(fault_id: str, request: Request) -> Response:
    if not _business(request).faults.remove(fault_id):
        raise ControlError(404, "not_found", f"no fault {fault_id!r}")
    return Response(status_code=204)


@router.delete("/_mock/faults", status_code=204)
async def delete_all_faults(request: Request) -> Response:
    _business(request).faults.clear()
    return Response(status_code=204)


@router.put("/_mock/limits", response_model=LimitsView, responses=CONTROL_ERRORS)
async def set_limits(change: LimitsChange, request: Request) -> dict[str, bool]:
    limits = _business(request).limits
    for name, value in change.model_dump(exclude_none=True).items():
        setattr(limits, name, value)
    return limits.view()


class QuirksView(BaseModel):
    skip_delivered: float
    out_of_order: float
    duplicate: float


class QuirksChange(BaseModel):
    """Probabilities per message, 0 (never, the default) to 1 (always)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    skip_delivered: float | None = Field(default=None, ge=0, le=1)
    out_of_order: float | None = Field(default=None, ge=0, le=1)
    duplicate: float | None = Field(default=None, ge=0, le=1)


@router.get("/_mock/status-quirks", response_model=QuirksView)
async def get_quirks(request: Request) -> dict[str, float]:
    return _business(request).quirks.view()


@router.put("/_mock/status-quirks", response_model=QuirksView, responses=CONTROL_ERRORS)
async def set_quirks(change: QuirksChange, request: Request) -> dict[str, float]:
    """Make statuses skip `delivered`, arrive out of order or twice, as Meta's may."""
    quirks = _business(request).quirks
    for name, value in change.model_dump(exclude_none=True).items():
        setattr(quirks, name, value)
    return quirks.view()
