"""Control and inspection: webhook delivery log, reset, health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mock_whatsapp.business import Business
from mock_whatsapp.graph_errors import ControlError
from mock_whatsapp.schemas import (
    CONTROL_ERRORS,
    ClockView,
    ControlErrorBody,
    DeliveryView,
    SubscriberCreated,
    SubscriberList,
)
from mock_whatsapp.subscriber_urls import AllowedHosts, checked_url

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

    url: str = Field(
        pattern=r"^https?://",
        max_length=2000,
        description="http(s) on an allowed host (MOCK_WA_WEBHOOK_ALLOWED_HOSTS: loopback "
        "and the compose service names by default)",
    )
    verify_token: str = Field(min_length=1, max_length=500)


# Published when the subscribers change, so the inspector can say that the default one,
# the stack's own delivery, no longer gets webhooks.
SUBSCRIBERS_CHANGED = "subscribers.changed"


def _subscribers_changed(request: Request, business: Business) -> None:
    request.app.state.bus.publish(
        SUBSCRIBERS_CHANGED, {"subscribers": [s.view() for s in business.webhooks.subscribers]}
    )


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
    """Register a webhook endpoint through Meta's verification handshake; only on an
    allowed host, and the answer never quotes what the endpoint said."""
    business: Business = request.app.state.business
    url = checked_url(body.url, AllowedHosts(business.settings.webhook_allowed_hosts))
    subscriber = await business.webhooks.subscribe(url, body.verify_token)
    _subscribers_changed(request, business)
    return {"subscriber": subscriber.view()}


@router.delete(
    "/_mock/webhooks/subscribers/{subscriber_id}",
    status_code=204,
    responses={
        **CONTROL_ERRORS,
        409: {"model": ControlErrorBody, "description": "The default subscriber, without force"},
    },
)
async def unsubscribe(subscriber_id: str, request: Request, force: bool = False) -> Response:
    """Remove a subscriber. The default one (MOCK_WA_WEBHOOK_URL, delivery in the stack)
    goes only with `?force=true`: without it no message reaches delivery. Reset or a
    restart brings it back."""
    business: Business = request.app.state.business
    if subscriber_id == "default" and not force:
        raise ControlError(
            409,
            "default_subscriber",
            "the default subscriber is the stack's own webhook URL; delete it with "
            "?force=true (POST /_mock/reset brings it back)",
        )
    if not business.webhooks.unsubscribe(subscriber_id):
        raise ControlError(404, "not_found", "no such subscriber")
    _subscribers_changed(request, business)
    return Response(status_code=204)


class ClockMove(BaseModel):
    now: datetime

    @field_validator("now", mode="before")
    @classmethod
    def _written_time(cls, value: object) -> object:
        # pydantic alone would read a bare number as Unix time; delivery sends RFC 3339.
        if not isinstance(value, str):
            raise ValueError("now must be an RFC 3339 time, e.g. 2030-01-02T07:50:00Z")
        return value


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
    if business.webhooks.restore_default():
        _subscribers_changed(request, business)
    return {"status": "reset"}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> dict[str, str]:
    # Everything lives in this process, so being up is being ready.
    return {"status": "ready"}
