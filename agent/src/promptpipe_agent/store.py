"""The agent's SQL: conversations, their history and the answers already given, on one
connection of the pool (the caller holds the transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

# Stored history is trimmed to the newest messages, as PromptPipe did.
HISTORY_LIMIT = 50


@dataclass
class OpenTurn:
    """What a turn starts from, read under the conversation's row lock."""

    conversation: dict[str, Any]  # sub_state, profile, flow, turns
    answer: dict[str, Any] | None  # the answer already given to this id, if any
    history: list[dict[str, Any]]  # {"role", "content"}, oldest first


async def open_turn(
    conn: AsyncConnection, participant_id: str, phone: str, key: str | None
) -> OpenTurn:
    """Lock the participant's conversation row until the transaction ends (so that turns
    of one participant never interleave), creating it on first contact, and read under
    the lock the answer already given to `key` and the history.

    On a connection in pipeline mode (conversations.py) the statements go in one round
    trip; the server runs them in order, each with its own snapshot, so the reads see
    whatever the turn that held the lock before committed."""
    found = await _locked_reads(conn, participant_id, key)
    if found.conversation:
        return found
    # First contact (or a contact whose row a concurrent first turn is creating: the
    # insert waits for it, then does nothing): create, then read again under the lock.
    await conn.execute(
        "INSERT INTO conversations (participant_id, phone_number) VALUES (%s, %s) "
        "ON CONFLICT (participant_id) DO NOTHING",
        (participant_id, phone),
    )
    return await _locked_reads(conn, participant_id, key)


async def _locked_reads(conn: AsyncConnection, participant_id: str, key: str | None) -> OpenTurn:
    row = conn.cursor(row_factory=dict_row)
    await row.execute(
        "SELECT sub_state, profile, flow, turns FROM conversations "
        "WHERE participant_id = %s FOR UPDATE",
        (participant_id,),
    )
    answer = None
    if key:
        answer = conn.cursor()
        await answer.execute("SELECT answer FROM processed_messages WHERE message_id = %s", (key,))
    said = conn.cursor(row_factory=dict_row)
    await said.execute(
        "SELECT role, content FROM history WHERE participant_id = %s ORDER BY id",
        (participant_id,),
    )
    # The first fetch sends what is queued and waits for every result.
    conversation = await row.fetchone()
    recorded = await answer.fetchone() if answer is not None else None
    return OpenTurn(
        conversation=conversation or {},
        answer=dict(recorded[0]) if recorded else None,
        history=[dict(r) for r in await said.fetchall()],
    )


async def close_turn(
    conn: AsyncConnection,
    participant_id: str,
    *,
    said: list[tuple[str, str]],
    at: Any,
    kept: int,
    phone: str,
    sub_state: str,
    profile: dict[str, Any],
    flow: dict[str, Any],
    turns: int,
    last_turn: dict[str, Any],
    key: str | None,
    answer: dict[str, Any],
) -> None:
    """Store the turn: its messages (role, content), stamped `at` (now() when None),
    trimmed to the newest HISTORY_LIMIT when the `kept` ones and these pass it; where the
    conversation stands; and the answer to `key`, for a retried call to get it again.
    Nothing is read back: in pipeline mode the statements are sent with the commit."""
    if said:
        rows = ", ".join(["(%s, %s, %s, COALESCE(%s::timestamptz, now()))"] * len(said))
        await conn.execute(
            f"INSERT INTO history (participant_id, role, content, created_at) VALUES {rows}",
            [v for role, content in said for v in (participant_id, role, content, at)],
        )
    if kept + len(said) > HISTORY_LIMIT:
        await conn.execute(
            "DELETE FROM history WHERE participant_id = %s AND id NOT IN ("
            "SELECT id FROM history WHERE participant_id = %s ORDER BY id DESC LIMIT %s)",
            (participant_id, participant_id, HISTORY_LIMIT),
        )
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
    if key:
        await conn.execute(
            "INSERT INTO processed_messages (message_id, participant_id, answer) "
            "VALUES (%s, %s, %s)",
            (key, participant_id, Jsonb(answer)),
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


async def history(conn: AsyncConnection, participant_id: str) -> list[dict[str, Any]]:
    """The stored messages, oldest first, as {"role", "content"} (a shadow turn's read)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT role, content FROM history WHERE participant_id = %s ORDER BY id",
        (participant_id,),
    )
    return [dict(r) for r in await cur.fetchall()]


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
