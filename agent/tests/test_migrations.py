"""The agent's schema brought up to date by yoyo-migrations, on a real Postgres."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources

import psycopg
import pytest

from promptpipe_agent import db

SQL = resources.files("promptpipe_agent").joinpath("migrations")
FILES = sorted(f.name.removesuffix(".sql") for f in SQL.iterdir() if f.name.endswith(".sql"))


def applied(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT migration_id FROM agent._yoyo_migration ORDER BY 1")
        return [r[0] for r in rows]


def columns(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'agent' AND table_name = %s",
            (table,),
        )
        return {r[0] for r in rows}


@pytest.fixture
def url(create_database: Callable[[str], str]) -> str:
    return create_database("agent_migrations")


def test_a_new_database_gets_every_file_once(url: str) -> None:
    db.migrate(url)
    db.migrate(url)  # a restart: nothing left to do
    assert applied(url) == FILES
    assert {"flow", "last_turn", "profile"} <= columns(url, "conversations")


def test_agents_starting_together_migrate_once(url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            db.migrate(url)
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    agents = [threading.Thread(target=start) for _ in range(3)]
    for agent in agents:
        agent.start()
    for agent in agents:
        agent.join()
    assert errors == []
    assert applied(url) == FILES


def test_a_lock_left_by_a_killed_agent_does_not_block_the_next(url: str) -> None:
    db.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO agent.yoyo_lock (locked, ctime, pid) VALUES (1, now(), 99999)")
    db.migrate(url)
    assert applied(url) == FILES


def test_a_database_of_the_earlier_runner_keeps_its_data(url: str) -> None:
    # As the hand-made runner left it: the first two files applied and listed.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA agent")
        conn.execute("SET search_path TO agent")
        conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY)")
        for version in FILES[:2]:
            conn.execute(SQL.joinpath(f"{version}.sql").read_text())
            conn.execute("INSERT INTO schema_migrations VALUES (%s)", (version,))
        conn.execute("INSERT INTO conversations (participant_id, phone_number) VALUES ('p', '1')")
    db.migrate(url)
    assert applied(url) == FILES
    assert "last_turn" in columns(url, "conversations")  # the third file ran
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT participant_id FROM agent.conversations").fetchall() == [("p",)]
        gone = conn.execute("SELECT to_regclass('agent.schema_migrations')").fetchone()
    assert gone == (None,)
