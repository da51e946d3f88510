"""The agent's Postgres connection pool and its versioned migrations (schema "agent")."""

from __future__ import annotations

from importlib import resources

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

SCHEMA = "agent"
_MIGRATION_LOCK = 727_002  # fixed advisory-lock key: the agent's migrations


def make_pool(database_url: str, schema: str = SCHEMA) -> AsyncConnectionPool:
    """A pool whose connections see only the agent's schema (not yet opened)."""
    return AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=10,
        open=False,
        kwargs={"options": f"-c search_path={schema}"},
        timeout=5,
    )


async def migrate(conn: AsyncConnection, schema: str = SCHEMA) -> None:
    """Apply the packaged migrations not yet recorded, in order, under an advisory lock."""
    await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations "
            "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.commit()
        files = sorted(
            (
                f
                for f in resources.files("promptpipe_agent.migrations").iterdir()
                if f.name.endswith(".sql")
            ),
            key=lambda f: f.name,
        )
        for file in files:
            version = file.name.removesuffix(".sql")
            cur = await conn.execute(
                f"SELECT 1 FROM {schema}.schema_migrations WHERE version = %s", (version,)
            )
            if await cur.fetchone():
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}")
                await conn.execute(file.read_text())
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (version) VALUES (%s)", (version,)
                )
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        await conn.commit()
