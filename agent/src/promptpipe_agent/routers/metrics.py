"""GET /metrics: the agent's Prometheus metrics (see metrics.py), with the participants per
sub-state read from the database as it is scraped."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from promptpipe_agent import metrics, store
from promptpipe_agent.dependencies import PoolDep

router = APIRouter(tags=["metrics"])
log = logging.getLogger("promptpipe_agent")


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(pool: PoolDep) -> Response:
    try:
        async with pool.connection(timeout=2) as conn:
            metrics.set_states(await store.state_counts(conn))
    except Exception:  # the other metrics still count; the state gauge keeps its last value
        log.warning("reading the state distribution failed", exc_info=True)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
