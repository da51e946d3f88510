"""Health endpoints: the guide's /health, and /healthz and /readyz for orchestration."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from promptpipe_agent import __version__
from promptpipe_agent.dependencies import PoolDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy", "version": __version__}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(pool: PoolDep) -> JSONResponse:
    try:
        async with asyncio.timeout(2):
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
    except Exception:
        return JSONResponse(
            {"status": "unavailable", "error": "database unreachable"}, status_code=503
        )
    return JSONResponse({"status": "ready"})
