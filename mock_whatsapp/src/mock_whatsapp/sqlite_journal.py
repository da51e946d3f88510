"""The journal in a SQLite file, for the mock run alone (MOCK_WA_DATABASE_URL=sqlite:///path):
the same tables as in Postgres, so a restart keeps chats and pending webhooks."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from mock_whatsapp.journal import SqlJournal

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


class SqliteJournal(SqlJournal):
    """Write-through to one SQLite file."""

    message_order = "rowid"

    def __init__(self, database_url: str) -> None:
        super().__init__(
            sqlite3.connect(
                sqlite_path(database_url), check_same_thread=False, isolation_level=None
            )
        )
        with self.lock:
            self.conn.executescript(DDL)

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql.replace("%s", "?"), params)

    @staticmethod
    def _stamp(moment: datetime | None) -> Any:
        return moment.isoformat() if moment else None
