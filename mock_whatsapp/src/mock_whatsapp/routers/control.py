"""Control and inspection: webhook delivery log, reset, health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mock_whatsapp.business import Business
from mock_whatsapp.graph_errors import ControlError
from mock_whatsapp.schemas import (
    CONTROL_ERRORS,
    ClockView,
    DeliveryView,
    SubscriberCreated,
    SubscriberList,
)

router = APIRouter(tags=["control"])


@router.get(
    "/_mock/webhooks/deliveries",
    response_model=None,
    responses={200: {"model": list[DeliveryView]}},
)
async def deliveries(
    request: Request, subscriber_id: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    """Every webhook with its payload, signature and each attempt (status, response,
    latency), oldest first; optionally only one subscriber's, or only those in a state."""
    business: Business = request.app.state.business
    return [
        d.view()
        for d in business.webhooks.deliveries
        if subscriber_id in (None, d.subscriber_id) and state in (None, d.state)
    ]


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", max_length=2000)
    verify_token: str = Field(min_length=1, max_length=500)


@router.get(
    "/_mock/webhooks/subscribers", response_model=None, responses={200: {"model": SubscriberList}}
)
async def subscribers(request: Request) -> dict[str, Any]:
    business: Business = request.app.state.business
    return {"subscribers": [s.view() for s in business.webhooks.subscribers]}


@router.post(
    "/_mock/webhooks/subscribers",
    status_code=201,
    response_model=None,
    responses={201: {"model": SubscriberCreated}, **CONTROL_ERRORS},
)
async def subscribe(body: Subscription, request: Request) -> dict[str, Any]:
    """Register a webhook endpoint through Meta's verification handshake."""
    business: Business = request.app.state.business
    subscriber = await business.webhooks.subscribe(body.url, body.verify_token)
    return {"subscriber": subscriber.view()}


@router.delete(
    "/_mock/webhooks/subscribers/{subscriber_id}", status_code=204, responses=CONTROL_ERRORS
)
async def unsubscribe(subscriber_id: str, request: Request) -> Response:
    business: Business = request.app.state.business
    if not business.webhooks.unsubscribe(subscriber_id):
        raise ControlError(404, "not_found", f"no subscriber {subscriber_id!r}")
    return Response(status_code=204)


class ClockMove(BaseModel):
    now: datetime


@router.get("/_mock/clock", response_model=None, responses={200: {"model": ClockView}})
async def get_clock(request: Request) -> dict[str, Any]:
    business: Business = request.app.state.business
    return {
        "now": business.clock.now().isoformat(),
        "offset_seconds": business.clock.offset.total_seconds(),
    }


@router.put(
    "/_mock/clock", response_model=None, responses={200: {"model": ClockView}, **CONTROL_ERRORS}
)
async def set_clock(body: ClockMove, request: Request) -> dict[str, Any]:
    """delivery's virtual clock calls this after every move."""
    business: Business = request.app.state.business
    business.set_clock(body.now)
    request.app.state.template_review.poke()  # reviews the jump made due are decided now
    return await get_clock(request)


@router.post("/_mock/reset")
async def reset(request: Request) -> dict[str, str]:
    business: Business = request.app.state.business
    business.reset()
    business.webhooks.deliveries.clear()
    return {"status": "reset"}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> dict[str, str]:
    # Everything lives in this process, so being up is being ready.
    return {"status": "ready"}
