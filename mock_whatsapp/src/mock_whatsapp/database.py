"""The SQL side of the journal: the tables (versioned by yoyo from plain SQL files in
`migrations/`), the statements that write a batch in one transaction, and reading it all
back on start. One set of statements for both databases:

- Postgres (schema mock_whatsapp) through an async psycopg pool, which replaces a
  connection that a restart of Postgres broke, so the mock heals by itself;
- SQLite (`sqlite:///path`, for the mock run alone) through one connection used from a
  worker thread, so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from yoyo import get_backend, read_migrations

SCHEMA = "mock_whatsapp"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Each kind of write, as one statement with %s placeholders (SQLite's ? are put in).
UPSERT = {
    "phones": (
        "INSERT INTO phones (number, name, last_inbound_at, state) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (number) DO UPDATE SET name = excluded.name, "
        "last_inbound_at = excluded.last_inbound_at, state = excluded.state"
    ),
    # A message keeps its seq (its place in the chat) when a later status rewrites it.
    "messages": (
        "INSERT INTO messages (id, seq, phone, data) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
    ),
    "answers": "INSERT INTO answers (key, answer) VALUES (%s, %s) ON CONFLICT DO NOTHING",
    "deliveries": (
        "INSERT INTO deliveries (id, data) VALUES (%s, %s) "
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
    ),
    "media": (
        "INSERT INTO media (id, business_id, mime_type, filename, content) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
    ),
    "clock": (
        "INSERT INTO clock (id, offset_seconds) VALUES (TRUE, %s) "
        "ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds"
    ),
    "templates": (
        "INSERT INTO templates (id, waba_id, data) VALUES (%s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
    ),
}
DELETE = {"media": "DELETE FROM media WHERE id = %s"}
# What a reset forgets; the clock (the stack's time), the subscribers and the templates
# (the accounts' configuration) stay.
CLEARED = ("phones", "messages", "answers", "deliveries", "media")


@dataclass
class Write:
    """One row to write: an upsert or delete into `table`, a reset (`clear`), or the new
    list of subscribers (`subscribers`, whose params are each (id, data))."""

    table: str
    params: tuple[Any, ...] = ()
    delete: bool = False
    rows: Sequence[tuple[Any, ...]] = ()


@dataclass
class Saved:
    """Everything a journal gives back on start."""

    phones: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    clock_offset_seconds: float = 0.0
    subscribers: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    last_message_seq: int = 0


def _decoded(value: Any) -> Any:
    """A JSON column as Python data (a jsonb column of an older table is decoded already)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def statements(batch: Sequence[Write]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The batch as statements, each with the rows it runs for, in an order that keeps
    its meaning: rows of one table never share a key within a batch (the journal merges
    them), so the rows of each statement go together, and a reset divides the batch."""
    out: list[tuple[str, list[tuple[Any, ...]]]] = []
    grouped: dict[str, list[tuple[Any, ...]]] = {}

    def flush() -> None:
        out.extend(grouped.items())
        grouped.clear()

    for write in batch:
        if write.table == "clear":
            flush()
            out.extend((f"DELETE FROM {table}", [()]) for table in CLEARED)
        elif write.table == "subscribers":
            flush()
            out.append(("DELETE FROM subscribers", [()]))
            if write.rows:
                out.append(("INSERT INTO subscribers (id, data) VALUES (%s, %s)", list(write.rows)))
        else:
            sql = DELETE[write.table] if write.delete else UPSERT[write.table]
            grouped.setdefault(sql, []).append(write.params)
    flush()
    return out


def read_back(rows: dict[str, list[tuple[Any, ...]]]) -> Saved:
    """Saved state from the rows of each table, as `Database.load` selects them."""
    saved = Saved()
    saved.phones = [
        {"number": n, "name": name, "last_inbound_at": _moment(last), "state": _decoded(state)}
        for n, name, last, state in rows["phones"]
    ]
    saved.messages = [_decoded(data) for _, data in rows["messages"]]
    saved.last_message_seq = max((int(seq or 0) for seq, _ in rows["messages"]), default=0)
    saved.answers = {key: _decoded(answer) for key, answer in rows["answers"]}
    saved.deliveries = [_decoded(data) for (data,) in rows["deliveries"]]
    saved.subscribers = [_decoded(data) for (data,) in rows["subscribers"]]
    saved.media = [
        {"id": i, "business_id": b, "mime_type": m, "filename": f, "content": bytes(c)}
        for i, b, m, f, c in rows["media"]
    ]
    saved.clock_offset_seconds = float(rows["clock"][0][0]) if rows["clock"] else 0.0
    saved.templates = [_decoded(data) for (data,) in rows["templates"]]
    return saved


LOAD = {
    "phones": "SELECT number, name, last_inbound_at, state FROM phones",
    # NULLs (rows of an older table) first: they were written before any numbered one.
    "messages": "SELECT seq, data FROM messages ORDER BY seq IS NOT NULL, seq",
    "answers": "SELECT key, answer FROM answers",
    "deliveries": "SELECT data FROM deliveries ORDER BY id",
    "subscribers": "SELECT data FROM subscribers",
    "media": "SELECT id, business_id, mime_type, filename, content FROM media",
    "clock": "SELECT offset_seconds FROM clock",
    "templates": "SELECT data FROM templates ORDER BY id",
}

# The errors that mean "the database cannot be reached now" rather than "this row is bad".
UNREACHABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    sqlite3.OperationalError,
)


class Database:
    """Where the journal's batches go."""

    async def open(self) -> Saved:
        """Bring the tables up to date and read back everything they hold."""
        raise NotImplementedError

    async def write(self, batch: Sequence[Write]) -> None:
        """Write the batch in one transaction: all of it, or nothing."""
        raise NotImplementedError

    async def ping(self) -> None:
        """Raise unless the database answers now."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# What acknowledged means: committed and on disk, even where the server's default says
# otherwise (the test clusters run with synchronous_commit=off).
DURABLE = "-c synchronous_commit=on"
# Taken while migrating, so that two mocks starting on one database take turns.
MIGRATION_LOCK = 7_345_001


def yoyo_url(database_url: str) -> str:
    """The yoyo URL of a Postgres URL: psycopg 3 as the driver, our schema first."""
    parts = urlsplit(database_url)
    query = [*parse_qsl(parts.query), ("schema", SCHEMA), ("options", DURABLE)]
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, urlencode(query), ""))


def migrate(url: str) -> None:
    """Apply the migrations not yet applied (yoyo keeps its log beside our tables).

    yoyo marks a migration in progress with a row of its own, which a mock killed at
    that moment would leave behind for good; a Postgres advisory lock, which ends with
    the session that holds it, says who migrates instead, so any such row is stale."""
    backend = get_backend(url)
    try:
        if url.startswith("postgresql"):
            backend.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        backend.break_lock()  # one mock per SQLite file: a row there is stale too
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations))
    finally:
        backend.connection.close()


class PostgresDatabase(Database):
    """Postgres through a small async pool that checks a connection before lending it."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.pool = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            open=False,
            # The schema is the connections' search path, so statements name tables alone.
            kwargs={"autocommit": True, "options": f"-c search_path={SCHEMA} {DURABLE}"},
            check=AsyncConnectionPool.check_connection,
            timeout=5,
            reconnect_timeout=0,  # never give up reconnecting: Postgres may be restarting
        )

    async def open(self) -> Saved:
        def prepare() -> None:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            migrate(yoyo_url(self.url))

        await asyncio.to_thread(prepare)
        await self.pool.open(wait=True, timeout=30)
        rows: dict[str, list[tuple[Any, ...]]] = {}
        async with self.pool.connection() as conn:
            for table, sql in LOAD.items():
                rows[table] = list(await (await conn.execute(sql)).fetchall())
        return read_back(rows)

    async def write(self, batch: Sequence[Write]) -> None:
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            for sql, params in statements(batch):
                if params == [()]:
                    await cur.execute(sql)
                else:
                    await cur.executemany(sql, params)

    async def ping(self) -> None:
        async with self.pool.connection(timeout=2) as conn:
            await conn.execute("SELECT 1")

    async def close(self) -> None:
        await self.pool.close()


def sqlite_path(database_url: str) -> str:
    """sqlite:///relative/path, sqlite:////absolute/path, or sqlite:///:memory:."""
    path = database_url.removeprefix("sqlite:").removeprefix("//")
    return path[1:] if path.startswith("/") else path


class SqliteDatabase(Database):
    """One SQLite file, written from a worker thread (one at a time: SQLite serializes
    writers anyway)."""

    def __init__(self, database_url: str) -> None:
        self.path = sqlite_path(database_url)
        self.conn: sqlite3.Connection | None = None
        self.lock = asyncio.Lock()

    async def open(self) -> Saved:
        def prepare() -> dict[str, list[tuple[Any, ...]]]:
            migrate(f"sqlite:///{self.path}")
            self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            return {t: self.conn.execute(sql).fetchall() for t, sql in LOAD.items()}

        return read_back(await asyncio.to_thread(prepare))

    def _write(self, batch: Sequence[Write]) -> None:
        assert self.conn is not None
        self.conn.execute("BEGIN")
        try:
            for sql, params in statements(batch):
                self.conn.executemany(sql.replace("%s", "?"), params)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    async def write(self, batch: Sequence[Write]) -> None:
        async with self.lock:
            await asyncio.to_thread(self._write, batch)

    async def ping(self) -> None:
        assert self.conn is not None
        async with self.lock:
            await asyncio.to_thread(self.conn.execute, "SELECT 1")

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def open_database(database_url: str) -> Database:
    """The database a URL names: Postgres, or SQLite (sqlite:///path)."""
    if database_url.startswith("sqlite:"):
        return SqliteDatabase(database_url)
    return PostgresDatabase(database_url)
