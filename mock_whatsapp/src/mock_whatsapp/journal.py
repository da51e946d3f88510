"""Where the mock keeps its state so that a restart loses nothing: chats, idempotent
answers, webhook deliveries still being retried, and the clock.

The mock works in memory; every change is also written here (write-through), and on start
the state is read back. `Journal` writes nothing (the mock run alone, or in tests);
`SqlJournal` writes to tables, in Postgres (schema mock_whatsapp) or in a SQLite file
(sqlite_journal.py). Writes are small and local, so a plain synchronous connection keeps
this simple.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import psycopg

SCHEMA = "mock_whatsapp"
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.phones (
    number text PRIMARY KEY, name text NOT NULL, last_inbound_at timestamptz);
ALTER TABLE {SCHEMA}.phones ADD COLUMN IF NOT EXISTS state jsonb;
CREATE TABLE IF NOT EXISTS {SCHEMA}.messages (
    id text PRIMARY KEY, seq bigserial, phone text NOT NULL, data jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.answers (key text PRIMARY KEY, answer jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.deliveries (id integer PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.subscribers (id text PRIMARY KEY, data jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.media (
    id text PRIMARY KEY, business_id text NOT NULL, mime_type text NOT NULL,
    filename text NOT NULL, content bytea NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.clock (
    id boolean PRIMARY KEY DEFAULT true CHECK (id), offset_seconds double precision NOT NULL);
"""


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


def to_json(obj: Any) -> str:
    data = asdict(obj) if hasattr(obj, "__dataclass_fields__") else obj
    return json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, datetime) else v)


class Journal:
    """Keeps nothing: the mock forgets everything when it stops."""

    def load(self) -> Saved:
        return Saved()

    def save_phone(self, number: str, name: str, last_inbound_at: datetime | None) -> None: ...

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None: ...

    def save_message(self, message: Any) -> None: ...

    def save_answer(self, key: str, answer: dict[str, Any]) -> None: ...

    def save_delivery(self, delivery: Any) -> None: ...

    def save_clock(self, offset_seconds: float) -> None: ...

    def save_subscribers(self, subscribers: list[dict[str, Any]]) -> None: ...

    def save_media(self, media: Any) -> None: ...

    def delete_media(self, media_id: str) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


class SqlJournal(Journal):
    """Write-through to SQL tables, the same statements for Postgres and SQLite; a
    subclass opens the connection and says how its driver differs (see each hook)."""

    # How messages load in the order they were first written.
    message_order = "seq"

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        # One connection, used from the event loop; the lock makes any other thread safe.
        self.lock = threading.Lock()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """Run one statement (written with %s placeholders), the lock already held."""
        return self.conn.execute(sql, params)

    @staticmethod
    def _stamp(moment: datetime | None) -> Any:
        """A timestamp as the driver stores it."""
        return moment

    @staticmethod
    def _decoded(value: Any) -> Any:
        """A stored JSON column as Python data (the driver may already have decoded it)."""
        return json.loads(value) if isinstance(value, str) else value

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.lock:
            self._execute(sql, params)

    def load(self) -> Saved:
        saved = Saved()
        rows = self._execute  # every read below holds the lock
        with self.lock:
            for number, name, last, state in rows(
                "SELECT number, name, last_inbound_at, state FROM phones"
            ):
                last_at = datetime.fromisoformat(last) if isinstance(last, str) else last
                saved.phones.append(
                    {
                        "number": number,
                        "name": name,
                        "last_inbound_at": last_at,
                        "state": self._decoded(state),
                    }
                )
            order = self.message_order
            saved.messages = [
                self._decoded(r[0]) for r in rows(f"SELECT data FROM messages ORDER BY {order}")
            ]
            saved.answers = {
                key: self._decoded(answer)
                for key, answer in rows("SELECT key, answer FROM answers")
            }
            saved.deliveries = [
                self._decoded(r[0]) for r in rows("SELECT data FROM deliveries ORDER BY id")
            ]
            saved.subscribers = [self._decoded(r[0]) for r in rows("SELECT data FROM subscribers")]
            saved.media = [
                {"id": i, "business_id": b, "mime_type": m, "filename": f, "content": bytes(c)}
                for i, b, m, f, c in rows(
                    "SELECT id, business_id, mime_type, filename, content FROM media"
                )
            ]
            row = rows("SELECT offset_seconds FROM clock").fetchone()
            saved.clock_offset_seconds = float(row[0]) if row else 0.0
        return saved

    def save_phone(self, number: str, name: str, last_inbound_at: datetime | None) -> None:
        self._run(
            "INSERT INTO phones (number, name, last_inbound_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (number) DO UPDATE SET name = excluded.name, "
            "last_inbound_at = excluded.last_inbound_at",
            (number, name, self._stamp(last_inbound_at)),
        )

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None:
        self._run("UPDATE phones SET state = %s WHERE number = %s", (json.dumps(state), number))

    def save_message(self, message: Any) -> None:
        # An upsert keeps the row (and its place in message_order) when a status changes.
        self._run(
            "INSERT INTO messages (id, phone, data) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (message.id, message.phone, to_json(message)),
        )

    def save_answer(self, key: str, answer: dict[str, Any]) -> None:
        self._run(
            "INSERT INTO answers (key, answer) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (key, json.dumps(answer)),
        )

    def save_delivery(self, delivery: Any) -> None:
        self._run(
            "INSERT INTO deliveries (id, data) VALUES (%s, %s) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (delivery.id, to_json(delivery)),
        )

    def save_clock(self, offset_seconds: float) -> None:
        # One row, whose key is TRUE (Postgres: a boolean; SQLite: the integer 1).
        self._run(
            "INSERT INTO clock (id, offset_seconds) VALUES (TRUE, %s) "
            "ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
            (offset_seconds,),
        )

    def save_subscribers(self, subscribers: list[dict[str, Any]]) -> None:
        with self.lock:
            self._execute("BEGIN")
            try:
                self._execute("DELETE FROM subscribers")
                for sub in subscribers:
                    self._execute(
                        "INSERT INTO subscribers (id, data) VALUES (%s, %s)",
                        (sub["id"], json.dumps(sub)),
                    )
            except Exception:
                self._execute("ROLLBACK")
                raise
            self._execute("COMMIT")

    def save_media(self, media: Any) -> None:
        self._run(
            "INSERT INTO media (id, business_id, mime_type, filename, content) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (media.id, media.business_id, media.mime_type, media.filename, media.content),
        )

    def delete_media(self, media_id: str) -> None:
        self._run("DELETE FROM media WHERE id = %s", (media_id,))

    def clear(self) -> None:
        with self.lock:
            # The clock stays: it is the stack's time, not the mock's data.
            for table in ("phones", "messages", "answers", "deliveries", "media"):
                self._execute(f"DELETE FROM {table}")

    def close(self) -> None:
        self.conn.close()


class PostgresJournal(SqlJournal):
    """Write-through to Postgres, schema mock_whatsapp."""

    def __init__(self, database_url: str) -> None:
        # The schema is the connection's search path, so the shared statements name
        # tables alone.
        super().__init__(
            psycopg.connect(database_url, autocommit=True, options=f"-c search_path={SCHEMA}")
        )
        with self.lock:
            self.conn.execute(DDL)


def open_journal(database_url: str) -> Journal:
    """The journal a database URL names: Postgres, SQLite (sqlite:///path, for the mock
    run alone), or none (empty: memory only)."""
    if not database_url:
        return Journal()
    if database_url.startswith("sqlite:"):
        from mock_whatsapp.sqlite_journal import SqliteJournal

        return SqliteJournal(database_url)
    return PostgresJournal(database_url)
