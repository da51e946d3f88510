"""GET and PUT /dev/world: the agent's part of a saved world (the dev stack only,
DEV_CLOCK=true). The agent does no work of its own: its turns come from delivery, which
the simulator pauses first, and a load waits for a turn still in flight (see world.py)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from promptpipe_agent import world
from promptpipe_agent.dependencies import PoolDep
from promptpipe_agent.errors import MALFORMED_BODY, ErrorBody, error_body

router = APIRouter(tags=["dev"], responses=MALFORMED_BODY)

# A world of fifty participants over two weeks is a few megabytes; this leaves room.
MAX_WORLD_BYTES = 256 * 2**20

REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON; nothing changed"},
    422: {"model": ErrorBody, "description": "The world does not fit; nothing changed"},
}


@router.get("/dev/world", responses=REFUSALS)
async def export_world(pool: PoolDep) -> dict[str, Any]:
    """Every conversation, its history and the answers already given, in one snapshot."""
    return await world.export_world(pool)


@router.put(
    "/dev/world",
    responses=REFUSALS,
    openapi_extra={"requestBody": {"content": {"application/json": {}}}},
)
async def import_world(request: Request, pool: PoolDep, dry_run: bool = False) -> dict[str, Any]:
    """Replace them all with a saved world's, in one transaction (422 and no change if
    it does not fit); `dry_run=true` only checks. The body is read as plain JSON:
    validating megabytes against a model would cost more than the load."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise world.InvalidWorld("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise world.WorldMismatch("A world part is a JSON object.")
    rows = await world.import_world(pool, body, dry_run=dry_run)
    return {"loaded": not dry_run, "rows": rows}


# Any other method: a 405 that names both (Starlette's would name only the first route's).
@router.api_route(
    "/dev/world", methods=["POST", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
)
async def other_method() -> JSONResponse:
    return JSONResponse(
        error_body("method_not_allowed", "/dev/world takes GET and PUT."),
        status_code=405,
        headers={"Allow": "GET, PUT"},
    )
