"""Where the mock keeps its state so that a restart loses nothing: chats, idempotent
answers, webhook deliveries still being retried, and the clock.

The mock works in memory; every change is also written here (write-through), and on start
the state is read back. `Journal` writes nothing (the mock run alone, or in tests);
`PostgresJournal` writes to the schema mock_whatsapp. Writes are small and local, so a
plain synchronous connection keeps this simple.
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


class PostgresJournal(Journal):
    """Write-through to Postgres, schema mock_whatsapp."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.lock = threading.Lock()
        with self.lock:
            self.conn.execute(DDL)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.lock:
            self.conn.execute(sql, params)

    def load(self) -> Saved:
        saved = Saved()
        with self.lock:
            for number, name, last, state in self.conn.execute(
                f"SELECT number, name, last_inbound_at, state FROM {SCHEMA}.phones"
            ):
                saved.phones.append(
                    {"number": number, "name": name, "last_inbound_at": last, "state": state}
                )
            saved.messages = [
                row[0]
                for row in self.conn.execute(f"SELECT data FROM {SCHEMA}.messages ORDER BY seq")
            ]
            saved.answers = {
                key: answer
                for key, answer in self.conn.execute(f"SELECT key, answer FROM {SCHEMA}.answers")
            }
            saved.deliveries = [
                row[0]
                for row in self.conn.execute(f"SELECT data FROM {SCHEMA}.deliveries ORDER BY id")
            ]
            saved.subscribers = [
                row[0] for row in self.conn.execute(f"SELECT data FROM {SCHEMA}.subscribers")
            ]
            saved.media = [
                {"id": i, "business_id": b, "mime_type": m, "filename": f, "content": bytes(c)}
                for i, b, m, f, c in self.conn.execute(
                    f"SELECT id, business_id, mime_type, filename, content FROM {SCHEMA}.media"
                )
            ]
            row = self.conn.execute(f"SELECT offset_seconds FROM {SCHEMA}.clock").fetchone()
            saved.clock_offset_seconds = float(row[0]) if row else 0.0
        return saved

    def save_phone(self, number: str, name: str, last_inbound_at: datetime | None) -> None:
        self._run(
            f"INSERT INTO {SCHEMA}.phones (number, name, last_inbound_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, "
            "last_inbound_at = EXCLUDED.last_inbound_at",
            (number, name, last_inbound_at),
        )

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None:
        self._run(
            f"UPDATE {SCHEMA}.phones SET state = %s WHERE number = %s", (json.dumps(state), number)
        )

    def save_message(self, message: Any) -> None:
        self._run(
            f"INSERT INTO {SCHEMA}.messages (id, phone, data) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
            (message.id, message.phone, to_json(message)),
        )

    def save_answer(self, key: str, answer: dict[str, Any]) -> None:
        self._run(
            f"INSERT INTO {SCHEMA}.answers (key, answer) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (key, json.dumps(answer)),
        )

    def save_delivery(self, delivery: Any) -> None:
        self._run(
            f"INSERT INTO {SCHEMA}.deliveries (id, data) VALUES (%s, %s) "
            "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
            (delivery.id, to_json(delivery)),
        )

    def save_clock(self, offset_seconds: float) -> None:
        self._run(
            f"INSERT INTO {SCHEMA}.clock (offset_seconds) VALUES (%s) "
            "ON CONFLICT (id) DO UPDATE SET offset_seconds = EXCLUDED.offset_seconds",
            (offset_seconds,),
        )

    def save_subscribers(self, subscribers: list[dict[str, Any]]) -> None:
        with self.lock, self.conn.transaction():
            self.conn.execute(f"DELETE FROM {SCHEMA}.subscribers")
            for sub in subscribers:
                self.conn.execute(
                    f"INSERT INTO {SCHEMA}.subscribers (id, data) VALUES (%s, %s)",
                    (sub["id"], json.dumps(sub)),
                )

    def save_media(self, media: Any) -> None:
        self._run(
            f"INSERT INTO {SCHEMA}.media (id, business_id, mime_type, filename, content) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (media.id, media.business_id, media.mime_type, media.filename, media.content),
        )

    def delete_media(self, media_id: str) -> None:
        self._run(f"DELETE FROM {SCHEMA}.media WHERE id = %s", (media_id,))

    def clear(self) -> None:
        self._run(
            # The clock stays: it is the stack's time, not the mock's data.
            f"TRUNCATE {SCHEMA}.phones, {SCHEMA}.messages, {SCHEMA}.answers, "
            f"{SCHEMA}.deliveries, {SCHEMA}.media"
        )

    def close(self) -> None:
        self.conn.close()


def open_journal(database_url: str) -> Journal:
    """The journal a database URL names: Postgres, SQLite (sqlite:///path, for the mock
    run alone), or none (empty: memory only)."""
    if not database_url:
        return Journal()
    if database_url.startswith("sqlite:"):
        from mock_whatsapp.sqlite_journal import SqliteJournal

        return SqliteJournal(database_url)
    return PostgresJournal(database_url)
