"""Conversation turns: load state, ask the coach, persist, all in one transaction."""

from __future__ import annotations

import logging
import time
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from promptpipe_agent.coach import Coach, Conversation
from promptpipe_agent.errors import NotFound
from promptpipe_agent.logs import mask_phone
from promptpipe_agent.schemas import (
    ConversationView,
    HistoryItem,
    ProcessMessageRequest,
    ProcessMessageResponse,
)

log = logging.getLogger("promptpipe_agent")

# Stored history is trimmed to the newest messages, as PromptPipe did.
HISTORY_LIMIT = 50


class Conversations:
    """Runs turns and reads conversations, backed by Postgres."""

    def __init__(self, pool: AsyncConnectionPool, coach: Coach) -> None:
        self.pool = pool
        self.coach = coach

    async def process_message(self, req: ProcessMessageRequest) -> ProcessMessageResponse:
        started = time.perf_counter()
        async with self.pool.connection() as conn, conn.transaction():
            conn.row_factory = dict_row  # type: ignore[assignment]
            await conn.execute(
                "INSERT INTO conversations (participant_id, phone_number) VALUES (%s, %s) "
                "ON CONFLICT (participant_id) DO NOTHING",
                (req.participant_id, req.phone_number),
            )
            # The row lock serializes turns of one participant, whoever calls.
            cur = await conn.execute(
                "SELECT sub_state, profile, turns FROM conversations "
                "WHERE participant_id = %s FOR UPDATE",
                (req.participant_id,),
            )
            row: Any = await cur.fetchone()
            if req.message_id:
                cur = await conn.execute(
                    "SELECT answer FROM processed_messages WHERE message_id = %s",
                    (req.message_id,),
                )
                done: Any = await cur.fetchone()
                if done:
                    log.info(
                        "repeated message answered from record",
                        extra={"participant_id": req.participant_id, "message_id": req.message_id},
                    )
                    return ProcessMessageResponse.model_validate(done["answer"])
            cur = await conn.execute(
                "SELECT role, content FROM history WHERE participant_id = %s ORDER BY id",
                (req.participant_id,),
            )
            history = [dict(r) for r in await cur.fetchall()]
            turn = await self.coach.respond(
                Conversation(req.participant_id, row["sub_state"], row["profile"], history),
                req.message,
            )
            turns = row["turns"] + 1
            answer = ProcessMessageResponse(
                response=turn.reply,
                state=turn.sub_state,
                metadata={
                    "participant_id": req.participant_id,
                    "phone_number": req.phone_number,
                    "message_id": req.message_id,
                    "turn": turns,
                },
            )
            await conn.execute(
                "INSERT INTO history (participant_id, role, content) VALUES (%s, 'user', %s), "
                "(%s, 'assistant', %s)",
                (req.participant_id, req.message, req.participant_id, turn.reply),
            )
            await conn.execute(
                "DELETE FROM history WHERE participant_id = %s AND id NOT IN ("
                "SELECT id FROM history WHERE participant_id = %s ORDER BY id DESC LIMIT %s)",
                (req.participant_id, req.participant_id, HISTORY_LIMIT),
            )
            await conn.execute(
                "UPDATE conversations SET sub_state = %s, profile = %s, turns = %s, "
                "phone_number = %s, updated_at = now() WHERE participant_id = %s",
                (turn.sub_state, Jsonb(turn.profile), turns, req.phone_number, req.participant_id),
            )
            if req.message_id:
                await conn.execute(
                    "INSERT INTO processed_messages (message_id, participant_id, answer) "
                    "VALUES (%s, %s, %s)",
                    (req.message_id, req.participant_id, Jsonb(answer.model_dump())),
                )
        log.info(
            "turn processed",
            extra={
                "participant_id": req.participant_id,
                "message_id": req.message_id,
                "phone": mask_phone(req.phone_number),
                "state": turn.sub_state,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return answer

    async def get(self, participant_id: str) -> ConversationView:
        async with self.pool.connection() as conn:
            conn.row_factory = dict_row  # type: ignore[assignment]
            cur = await conn.execute(
                "SELECT sub_state, profile, turns, updated_at FROM conversations "
                "WHERE participant_id = %s",
                (participant_id,),
            )
            row: Any = await cur.fetchone()
            if row is None:
                raise NotFound(f"No conversation with participant {participant_id}.")
            cur = await conn.execute(
                "SELECT role, content, created_at FROM history WHERE participant_id = %s "
                "ORDER BY id",
                (participant_id,),
            )
            rows: Any = await cur.fetchall()
            history = [
                HistoryItem(role=r["role"], content=r["content"], timestamp=r["created_at"])
                for r in rows
            ]
        return ConversationView(
            participant_id=participant_id,
            state=row["sub_state"],
            profile=row["profile"],
            turns=row["turns"],
            history=history,
            updated_at=row["updated_at"],
        )
