"""Fixtures: the agent app on a fresh Postgres database, driven in-process over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings


@pytest.fixture
def database_url(create_database: Callable[[str], str]) -> str:
    return create_database("agent")


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(DATABASE_URL=database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            yield c
