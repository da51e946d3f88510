"""What the handlers depend on, given through FastAPI's `Depends`.

The lifespan in main.py builds the collaborators once and keeps them on `app.state`;
handlers never read `app.state` themselves but declare `ConversationsDep` or `PoolDep`, so
a test swaps one the documented way: `app.dependency_overrides[get_pool] = ...`.

They are `async def` although they never wait: FastAPI runs a plain `def` dependency in
its thread pool, a hand-off to a worker thread and back on every request (about a tenth of
the agent's CPU under load, by py-spy).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from promptpipe_agent.conversations import Conversations


async def get_conversations(request: Request) -> Conversations:
    """The conversation turns and views, backed by the agent's Postgres schema."""
    conversations: Conversations = request.app.state.conversations
    return conversations


async def get_pool(request: Request) -> AsyncConnectionPool:
    """The agent's connection pool (readiness checks it)."""
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


ConversationsDep = Annotated[Conversations, Depends(get_conversations)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
