"""The journal in a SQLite file, for the mock run alone (MOCK_WA_DATABASE_URL=sqlite:///path):
the same tables as in Postgres, so a restart keeps chats and pending webhooks."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from typing import Any

from mock_whatsapp.journal import Journal, Saved, to_json

DDL = """
CREATE TABLE IF NOT EXISTS phones (
    number text PRIMARY KEY, name text NOT NULL, last_inbound_at text, state text);
CREATE TABLE IF NOT EXISTS messages (id text PRIMARY KEY, phone text NOT NULL, data text NOT NULL);
CREATE TABLE IF NOT EXISTS answers (key text PRIMARY KEY, answer text NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (id integer PRIMARY KEY, data text NOT NULL);
CREATE TABLE IF NOT EXISTS subscribers (id text PRIMARY KEY, data text NOT NULL);
CREATE TABLE IF NOT EXISTS media (
    id text PRIMARY KEY, business_id text NOT NULL, mime_type text NOT NULL,
    filename text NOT NULL, content blob NOT NULL);
CREATE TABLE IF NOT EXISTS clock (
    id integer PRIMARY KEY CHECK (id = 1), offset_seconds real NOT NULL);
"""


def sqlite_path(database_url: str) -> str:
    """sqlite:///relative/path, sqlite:////absolute/path, or sqlite:///:memory:."""
    path = database_url.removeprefix("sqlite:").removeprefix("//")
    return path[1:] if path.startswith("/") else path


class SqliteJournal(Journal):
    """Write-through to one SQLite file."""

    def __init__(self, database_url: str) -> None:
        # One connection, used from the event loop and guarded by a lock for safety.
        self.conn = sqlite3.connect(
            sqlite_path(database_url), check_same_thread=False, isolation_level=None
        )
        self.lock = threading.Lock()
        with self.lock:
            self.conn.executescript(DDL)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.lock:
            self.conn.execute(sql, params)

    def load(self) -> Saved:
        saved = Saved()
        with self.lock:
            rows = self.conn.execute("SELECT number, name, last_inbound_at, state FROM phones")
            for number, name, last, state in rows:
                saved.phones.append(
                    {
                        "number": number,
                        "name": name,
                        "last_inbound_at": datetime.fromisoformat(last) if last else None,
                        "state": json.loads(state) if state else None,
                    }
                )
            saved.messages = [
                json.loads(r[0])
                for r in self.conn.execute("SELECT data FROM messages ORDER BY rowid")
            ]
            saved.answers = {
                key: json.loads(answer)
                for key, answer in self.conn.execute("SELECT key, answer FROM answers")
            }
            saved.deliveries = [
                json.loads(r[0])
                for r in self.conn.execute("SELECT data FROM deliveries ORDER BY id")
            ]
            saved.subscribers = [
                json.loads(r[0]) for r in self.conn.execute("SELECT data FROM subscribers")
            ]
            saved.media = [
                {"id": i, "business_id": b, "mime_type": m, "filename": f, "content": bytes(c)}
                for i, b, m, f, c in self.conn.execute(
                    "SELECT id, business_id, mime_type, filename, content FROM media"
                )
            ]
            row = self.conn.execute("SELECT offset_seconds FROM clock").fetchone()
            saved.clock_offset_seconds = float(row[0]) if row else 0.0
        return saved

    def save_phone(self, number: str, name: str, last_inbound_at: datetime | None) -> None:
        self._run(
            "INSERT INTO phones (number, name, last_inbound_at) VALUES (?, ?, ?) "
            "ON CONFLICT (number) DO UPDATE SET name = excluded.name, "
            "last_inbound_at = excluded.last_inbound_at",
            (number, name, last_inbound_at.isoformat() if last_inbound_at else None),
        )

    def save_phone_state(self, number: str, state: dict[str, bool]) -> None:
        self._run("UPDATE phones SET state = ? WHERE number = ?", (json.dumps(state), number))

    def save_message(self, message: Any) -> None:
        # An upsert keeps the row (and its rowid), so messages load in the order sent.
        self._run(
            "INSERT INTO messages (id, phone, data) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (message.id, message.phone, to_json(message)),
        )

    def save_answer(self, key: str, answer: dict[str, Any]) -> None:
        self._run(
            "INSERT INTO answers (key, answer) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (key, json.dumps(answer)),
        )

    def save_delivery(self, delivery: Any) -> None:
        self._run(
            "INSERT INTO deliveries (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (delivery.id, to_json(delivery)),
        )

    def save_clock(self, offset_seconds: float) -> None:
        self._run(
            "INSERT INTO clock (id, offset_seconds) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
            (offset_seconds,),
        )

    def save_subscribers(self, subscribers: list[dict[str, Any]]) -> None:
        with self.lock:
            self.conn.execute("BEGIN")
            self.conn.execute("DELETE FROM subscribers")
            self.conn.executemany(
                "INSERT INTO subscribers (id, data) VALUES (?, ?)",
                [(s["id"], json.dumps(s)) for s in subscribers],
            )
            self.conn.execute("COMMIT")

    def save_media(self, media: Any) -> None:
        self._run(
            "INSERT INTO media (id, business_id, mime_type, filename, content) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (media.id, media.business_id, media.mime_type, media.filename, media.content),
        )

    def delete_media(self, media_id: str) -> None:
        self._run("DELETE FROM media WHERE id = ?", (media_id,))

    def clear(self) -> None:
        with self.lock:
            # The clock stays: it is the stack's time, not the mock's data.
            for table in ("phones", "messages", "answers", "deliveries", "media"):
                self.conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        self.conn.close()
