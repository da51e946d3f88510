"""The agent's bearer token in the tests, sent as delivery sends it, on a virtual clock
(DEV_CLOCK) so that the tests' X-PromptPipe-Now is honoured; and an in-process client of an
agent app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

TOKEN = "test-agent-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
TRUSTED = {"AGENT_API_TOKEN": TOKEN, "DEV_CLOCK": True}


@asynccontextmanager
async def serving(
    app: FastAPI, headers: dict[str, str] | None = HEADERS
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app` in this process, with the app's lifespan (its pool, its
    migrations) run around it; as delivery calls it unless `headers` says otherwise."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://agent", headers=headers
        ) as client:
            yield client
