"""The agent's Postgres connection pool, and its schema ("agent") brought up to date by
yoyo-migrations from the plain SQL files in `migrations/` (0001_*.sql, 0002_*.sql, ...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import AsyncConnectionPool
from yoyo import get_backend, read_migrations

SCHEMA = "agent"
MIGRATIONS = "package:promptpipe_agent:migrations"
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


def migrate(database_url: str, schema: str = SCHEMA) -> None:
    """Apply the migrations this database has not seen, in order, each in a transaction.

    yoyo applies them and records each in agent._yoyo_migration. Around it, a Postgres
    advisory lock makes agents that start together migrate one after another: unlike
    yoyo's own lock row, the server drops it when a killed agent's session ends, so a
    lock row left by a killed agent can only be stale here, and is broken."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            backend = get_backend(_yoyo_url(database_url, schema))
            migrations = read_migrations(MIGRATIONS)
            try:
                backend.break_lock()
                with backend.lock():
                    _adopt_older_record(conn, backend, migrations, schema)
                    backend.apply_migrations(backend.to_apply(migrations))
            finally:
                backend.connection.close()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


def _adopt_older_record(
    conn: psycopg.Connection, backend: Any, migrations: Any, schema: str
) -> None:
    """A database that the agent's earlier, hand-made runner migrated lists the files it
    applied in agent.schema_migrations: yoyo takes them over as applied (same names), so
    an existing stack keeps its data."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.schema_migrations",)).fetchone()
    if not found or found[0] is None:
        return
    done = {row[0] for row in conn.execute(f"SELECT version FROM {schema}.schema_migrations")}
    backend.mark_migrations([m for m in backend.to_apply(migrations) if m.id in done])
    conn.execute(f"DROP TABLE {schema}.schema_migrations")


def _yoyo_url(database_url: str, schema: str = SCHEMA) -> str:
    """The same database for yoyo: its psycopg 3 backend, in the agent's schema."""
    parts = urlsplit(database_url)
    query = [*parse_qsl(parts.query), ("schema", schema)]
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=urlencode(query)))
