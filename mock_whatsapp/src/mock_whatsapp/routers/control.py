"""Control and inspection: webhook delivery log, reset, health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from mock_whatsapp.business import Business

router = APIRouter(tags=["control"])


@router.get("/_mock/webhooks/deliveries")
async def deliveries(request: Request) -> list[dict[str, Any]]:
    business: Business = request.app.state.business
    return [d.view() for d in business.webhooks.deliveries]


class ClockMove(BaseModel):
    now: datetime


@router.get("/_mock/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    business: Business = request.app.state.business
    return {
        "now": business.clock.now().isoformat(),
        "offset_seconds": business.clock.offset.total_seconds(),
    }


@router.put("/_mock/clock")
async def set_clock(body: ClockMove, request: Request) -> dict[str, Any]:
    """delivery's virtual clock calls this after every move."""
    business: Business = request.app.state.business
    business.set_clock(body.now)
    return await get_clock(request)


@router.post("/_mock/reset")
async def reset(request: Request) -> dict[str, str]:
    business: Business = request.app.state.business
    business.chats.reset()
    business.webhooks.deliveries.clear()
    return {"status": "reset"}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> dict[str, str]:
    # Everything lives in this process, so being up is being ready.
    return {"status": "ready"}
