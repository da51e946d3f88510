"""GET and PUT /dev/world: the agent's part of a saved world (the dev stack only,
DEV_CLOCK=true). The agent does no work of its own: its turns come from delivery, which
the simulator pauses first, and a load waits for a turn still in flight (see world.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from promptpipe_agent import world
from promptpipe_agent.dependencies import PoolDep

router = APIRouter(prefix="/dev/world", tags=["dev"])

# A world of fifty participants over two weeks is a few megabytes; this leaves room.
MAX_WORLD_BYTES = 256 * 2**20


@router.get("")
async def export_world(pool: PoolDep) -> dict[str, Any]:
    """Every conversation, its history and the answers already given, in one snapshot."""
    return await world.export_world(pool)


@router.put("")
async def import_world(
    pool: PoolDep, body: Annotated[dict[str, Any], Body()], dry_run: bool = False
) -> dict[str, Any]:
    """Replace them all with a saved world's, in one transaction (422 and no change if
    it does not fit); `dry_run=true` only checks."""
    rows = await world.import_world(pool, body, dry_run=dry_run)
    return {"loaded": not dry_run, "rows": rows}
