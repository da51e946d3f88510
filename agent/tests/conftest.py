"""Fixtures: the agent app on a fresh Postgres database, driven in-process over HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fake_openai, shared by the tests here

from caller import TRUSTED, serving
from fake_delivery import FakeDelivery

from promptpipe_agent.db import migrate
from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings


@pytest.fixture(scope="session")
def migrated_database(create_database: Callable[..., str]) -> Callable[[str], str]:
    """A factory of databases with the agent's schema: copies of one migrated once per
    test process (a copy takes a tenth of the migrations' time)."""
    template_url = create_database("agent_template")
    migrate(template_url)
    template = urlsplit(template_url).path.lstrip("/")
    return lambda prefix: create_database(prefix, template=template)


@pytest.fixture(scope="session")
def reused_database(migrated_database: Callable[[str], str]) -> str:
    """One migrated database per test process, emptied before each test that uses it."""
    return migrated_database("agent")


@pytest.fixture
def database_url(reused_database: str) -> str:
    """A migrated database with no rows: the process's own, emptied (TRUNCATE takes a few
    milliseconds where a new copy of the template took a tenth of a second, checkpoint
    included). Schemas a test's app made beside the agent's (a shadow's) are dropped."""
    with psycopg.connect(reused_database, autocommit=True) as conn:
        # A connection some app of the last test left open would hold it up: fail instead.
        conn.execute("SET lock_timeout = '10s'")
        extra = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('agent', 'public')"
            " AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
        ).fetchall()
        for (schema,) in extra:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        tables = conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname = 'agent' AND tablename NOT LIKE '%yoyo%'"
        ).fetchall()
        conn.execute(f"TRUNCATE {', '.join(t for (t,) in tables)} RESTART IDENTITY")
    return reused_database


@pytest.fixture
def delivery() -> FakeDelivery:
    return FakeDelivery()


@pytest.fixture
async def client(database_url: str, delivery: FakeDelivery) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(DATABASE_URL=database_url, **TRUSTED),
        delivery_transport=httpx.MockTransport(delivery.handle),
    )
    async with serving(app) as c:
        yield c
