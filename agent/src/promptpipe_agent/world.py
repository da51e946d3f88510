"""The agent's part of a saved world (the dev stack's snapshots): every conversation, its
history and the answers already given, as rows, so that a demo or a bug can start again
from one moment. Loading replaces them all in one transaction."""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection, errors, sql
from psycopg_pool import AsyncConnectionPool

from promptpipe_agent.errors import AgentError

# The version of this document's shape; the migration it carries changes with the schema.
WORLD_FORMAT = 1

# Parents before children, each with the column that orders its rows.
TABLES = (
    ("conversations", "participant_id"),
    ("history", "id"),
    ("processed_messages", "message_id"),
)


class WorldMismatch(AgentError):
    """A world that cannot be loaded here (another format or schema, rows that do not
    fit); nothing was changed."""

    status_code = 422
    code = "world_mismatch"


class InvalidWorld(AgentError):
    """A body that is not JSON at all."""

    status_code = 400
    code = "invalid_json"


async def _migration(conn: AsyncConnection) -> str:
    """The newest migration applied to the agent's schema (yoyo's record)."""
    cur = await conn.execute("SELECT max(migration_id) FROM _yoyo_migration")
    row = await cur.fetchone()
    return str(row[0]) if row and row[0] else ""


async def export_world(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Every row of the agent's tables, read in one repeatable-read snapshot."""
    async with pool.connection() as conn, conn.transaction():
        # One snapshot for every table, so that they agree with each other.
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        world: dict[str, Any] = {
            "service": "agent",
            "format": WORLD_FORMAT,
            "schema_version": await _migration(conn),
            "tables": {},
        }
        for table, order in TABLES:
            cur = await conn.execute(
                sql.SQL(
                    "SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t.{}), '[]')::text FROM {} t"
                ).format(sql.Identifier(order), sql.Identifier(table))
            )
            row = await cur.fetchone()
            world["tables"][table] = json.loads(row[0]) if row else []
    return world


async def import_world(
    pool: AsyncConnectionPool, world: dict[str, Any], *, dry_run: bool = False
) -> dict[str, int]:
    """Replace every row with the world's, in one transaction; rows per table. A world
    that does not fit raises WorldMismatch and changes nothing. A turn in flight holds
    its conversation's row, so the load waits for it (TRUNCATE's lock) and no turn is
    cut in half."""
    if world.get("service") != "agent":
        raise WorldMismatch(f"This is a world part of {world.get('service')!r}, not of the agent.")
    if world.get("format") != WORLD_FORMAT:
        raise WorldMismatch(
            f"The agent's part of this world has format {world.get('format')}; "
            f"this agent reads format {WORLD_FORMAT}."
        )
    tables = world.get("tables")
    if not isinstance(tables, dict):
        raise WorldMismatch("The agent's part of this world has no tables.")
    known = {name for name, _ in TABLES}
    for name, rows in tables.items():
        if name not in known:
            raise WorldMismatch(f"The agent has no table {name!r}.")
        if not isinstance(rows, list):
            raise WorldMismatch(f"The agent's table {name} in this world is not a list of rows.")
    counts: dict[str, int] = {}
    async with pool.connection() as conn, conn.transaction(force_rollback=dry_run):
        current = await _migration(conn)
        if world.get("schema_version") != current:
            raise WorldMismatch(
                f"This world was saved by the agent at migration "
                f"{world.get('schema_version')!r}; this agent is at {current!r}: "
                "generate or save the world again."
            )
        names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in TABLES)
        await conn.execute(sql.SQL("TRUNCATE {}").format(names))
        for name, _ in TABLES:
            rows = tables.get(name) or []
            counts[name] = len(rows)
            await _insert(conn, name, rows)
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('history', 'id'), "
            "COALESCE((SELECT max(id) FROM history), 0) + 1, false)"
        )
    return counts


async def _insert(conn: AsyncConnection, table: str, rows: list[Any]) -> None:
    """Insert rows given as objects named by column, in a savepoint so that a row that does
    not fit is reported by table."""
    try:
        async with conn.transaction():
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {t} SELECT * FROM jsonb_populate_recordset(NULL::{t}, %s::jsonb)"
                ).format(t=sql.Identifier(table)),
                (json.dumps(rows),),
            )
    except (errors.DataError, errors.IntegrityError) as exc:
        detail = exc.diag.message_primary or "invalid rows"
        raise WorldMismatch(
            f"The agent's table {table} in this world does not load: {detail}"
        ) from exc
