"""/_mock/world: the mock's part of a saved world (see world.py), for the simulator's
`world save` / `world load`: pause and resume, export and import."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from mock_whatsapp.graph_errors import ControlError
from mock_whatsapp.schemas import ControlErrorBody
from mock_whatsapp.world import WorldKeeper

router = APIRouter(prefix="/_mock/world", tags=["world"])


class Pause(BaseModel):
    limit_seconds: float = Field(120, gt=0, le=3600)


def _keeper(request: Request) -> WorldKeeper:
    keeper: WorldKeeper = request.app.state.world
    return keeper


@router.post("/pause")
async def pause(request: Request, body: Pause) -> dict[str, Any]:
    """Stop webhooks, status timelines and typing timers (their state is kept) and
    answer once the posts in flight have stopped; lifts itself after limit_seconds."""
    await _keeper(request).pause(body.limit_seconds)
    return {"paused": True}


@router.post("/resume")
async def resume(request: Request) -> dict[str, Any]:
    """Start again what the pause stopped: pending webhooks, unfinished timelines."""
    _keeper(request).resume()
    return {"paused": False}


@router.get("")
async def export_world(request: Request) -> dict[str, Any]:
    """Every phone, chat, answer, webhook delivery, media file and template, and the
    clock (subscribers are the stack's configuration and stay)."""
    return await _keeper(request).export()


@router.put(
    "",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {}}}},
    responses={
        400: {"model": ControlErrorBody, "description": "Not JSON, or does not fit; no change"}
    },
)
async def import_world(request: Request, dry_run: bool = False) -> dict[str, Any]:
    """Replace the whole state with a saved world's (400 world_mismatch and no change
    if it does not fit); `dry_run=true` only checks. The body is read as plain JSON: validating
    megabytes against `dict[str, Any]` would cost more than the load."""
    try:
        world = json.loads(await request.body())
    except ValueError:
        raise ControlError(400, "invalid_json", "The body is not JSON.") from None
    rows = await _keeper(request).load(world, dry_run=dry_run)
    return {"loaded": not dry_run, "rows": rows}
