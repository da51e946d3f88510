"""Where the templates of each WhatsApp Business Account are kept across restarts: one
table (migrations/templates.sql) in the database MOCK_WA_DATABASE_URL names, Postgres
(schema mock_whatsapp) or a SQLite file; nowhere when it is empty.

Kept apart from the journal, on a connection of its own: templates are the account's
configuration rather than the chats' history, and they change a few times a day, so a
plain synchronous write is simple and cheap."""

from __future__ import annotations

import json
import sqlite3
import threading
from importlib import resources
from typing import Any

import psycopg

from mock_whatsapp.journal import SCHEMA
from mock_whatsapp.sqlite_journal import sqlite_path

DDL = resources.files("mock_whatsapp").joinpath("migrations/templates.sql").read_text()


class TemplateStore:
    """Keeps nothing: templates created through the API are gone after a restart."""

    def load(self) -> list[dict[str, Any]]:
        return []

    def save(self, template: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class SqlTemplateStore(TemplateStore):
    """Each template as a JSON row; a deleted one keeps its row, marked, so that a deleted
    configured template (hello_world) does not come back on the next start."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self.conn, self.placeholder = conn, placeholder
        self.lock = threading.Lock()

    def _sql(self, statement: str) -> str:
        return statement.replace("%s", self.placeholder)

    def load(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.conn.execute("SELECT data FROM templates ORDER BY id").fetchall()
        return [json.loads(row[0]) for row in rows]

    def save(self, template: dict[str, Any]) -> None:
        with self.lock:
            self.conn.execute(
                self._sql(
                    "INSERT INTO templates (id, waba_id, data) VALUES (%s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET data = excluded.data"
                ),
                (template["id"], template["waba_id"], json.dumps(template)),
            )

    def close(self) -> None:
        self.conn.close()


def open_template_store(database_url: str) -> TemplateStore:
    """The store a database URL names (the same URL as the journal's)."""
    if not database_url:
        return TemplateStore()
    if database_url.startswith("sqlite:"):
        conn: Any = sqlite3.connect(
            sqlite_path(database_url), check_same_thread=False, isolation_level=None
        )
        conn.executescript(DDL)
        return SqlTemplateStore(conn, "?")
    conn = psycopg.connect(database_url, autocommit=True, options=f"-c search_path={SCHEMA}")
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    conn.execute(DDL)
    return SqlTemplateStore(conn, "%s")
