"""The agent's SQL: conversations, their history and the answers already given, on one
connection of the pool (the caller holds the transaction)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

# Stored history is trimmed to the newest messages, as PromptPipe did.
HISTORY_LIMIT = 50


async def lock_conversation(conn: AsyncConnection, participant_id: str, phone: str) -> Any:
    """The participant's conversation row (created on first contact), locked until the
    transaction ends, so that turns of one participant never interleave."""
    await conn.execute(
        "INSERT INTO conversations (participant_id, phone_number) VALUES (%s, %s) "
        "ON CONFLICT (participant_id) DO NOTHING",
        (participant_id, phone),
    )
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT sub_state, profile, flow, turns FROM conversations "
        "WHERE participant_id = %s FOR UPDATE",
        (participant_id,),
    )
    return await cur.fetchone()


async def recorded_answer(conn: AsyncConnection, key: str) -> dict[str, Any] | None:
    """The answer already given to this message or event id, if any."""
    cur = await conn.execute("SELECT answer FROM processed_messages WHERE message_id = %s", (key,))
    row = await cur.fetchone()
    return dict(row[0]) if row else None


async def record_answer(
    conn: AsyncConnection, key: str, participant_id: str, answer: dict[str, Any]
) -> None:
    """Keep the answer to this id, for a retried call to get it again."""
    await conn.execute(
        "INSERT INTO processed_messages (message_id, participant_id, answer) VALUES (%s, %s, %s)",
        (key, participant_id, Jsonb(answer)),
    )


async def history(conn: AsyncConnection, participant_id: str) -> list[dict[str, Any]]:
    """The stored messages, oldest first, as {"role", "content"}."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT role, content FROM history WHERE participant_id = %s ORDER BY id",
        (participant_id,),
    )
    return [dict(r) for r in await cur.fetchall()]


async def append_history(
    conn: AsyncConnection, participant_id: str, said: list[tuple[str, str]], at: Any
) -> None:
    """Add the turn's messages (role, content), stamped `at` (now() when None), then keep
    only the newest HISTORY_LIMIT."""
    for role, content in said:
        await conn.execute(
            "INSERT INTO history (participant_id, role, content, created_at) "
            "VALUES (%s, %s, %s, COALESCE(%s, now()))",
            (participant_id, role, content, at),
        )
    await conn.execute(
        "DELETE FROM history WHERE participant_id = %s AND id NOT IN ("
        "SELECT id FROM history WHERE participant_id = %s ORDER BY id DESC LIMIT %s)",
        (participant_id, participant_id, HISTORY_LIMIT),
    )


async def save_conversation(
    conn: AsyncConnection,
    participant_id: str,
    *,
    phone: str,
    sub_state: str,
    profile: dict[str, Any],
    flow: dict[str, Any],
    turns: int,
    last_turn: dict[str, Any],
) -> None:
    """Store where the conversation stands after a turn."""
    await conn.execute(
        "UPDATE conversations SET sub_state = %s, profile = %s, flow = %s, turns = %s, "
        "last_turn = %s, phone_number = %s, updated_at = now() WHERE participant_id = %s",
        (
            sub_state,
            Jsonb(profile),
            Jsonb(flow),
            turns,
            Jsonb(last_turn),
            phone,
            participant_id,
        ),
    )


async def summaries(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every conversation's sub-state and size, most recently active first."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT participant_id, sub_state AS state, turns, updated_at FROM conversations "
        "ORDER BY updated_at DESC"
    )
    return list(await cur.fetchall())


async def conversation(conn: AsyncConnection, participant_id: str) -> dict[str, Any] | None:
    """One conversation's row, or None."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT sub_state, profile, flow, turns, last_turn, updated_at FROM conversations "
        "WHERE participant_id = %s",
        (participant_id,),
    )
    return await cur.fetchone()


async def stamped_history(conn: AsyncConnection, participant_id: str) -> list[dict[str, Any]]:
    """The stored messages, oldest first, with their times."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT role, content, created_at FROM history WHERE participant_id = %s ORDER BY id",
        (participant_id,),
    )
    return list(await cur.fetchall())


async def state_counts(conn: AsyncConnection) -> dict[str, int]:
    """How many conversations are in each sub-state."""
    cur = await conn.execute("SELECT sub_state, count(*) FROM conversations GROUP BY sub_state")
    return {str(state): int(n) for state, n in await cur.fetchall()}
