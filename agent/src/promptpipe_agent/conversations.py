"""Conversation turns: load state, ask the coach, persist, all in one transaction."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from promptpipe_agent.coach import Coach, Conversation, Turn
from promptpipe_agent.errors import NotFound
from promptpipe_agent.logs import mask_phone
from promptpipe_agent.schemas import (
    Button,
    ConversationSummary,
    ConversationView,
    HistoryItem,
    LastTurn,
    ProcessEventRequest,
    ProcessMessageRequest,
    ProcessMessageResponse,
    TemplateFallback,
)
from promptpipe_agent.shadow import ConversationState, RecordingScheduler, tool_calls_with_args

log = logging.getLogger("promptpipe_agent")

# Stored history is trimmed to the newest messages, as PromptPipe did.
HISTORY_LIMIT = 50


class Conversations:
    """Runs turns and reads conversations, backed by Postgres."""

    def __init__(self, pool: AsyncConnectionPool, coach: Coach) -> None:
        self.pool = pool
        self.coach = coach

    async def process_message(
        self,
        req: ProcessMessageRequest,
        now: datetime | None = None,
        *,
        shadow: bool = False,
        compare: bool = False,
    ) -> ProcessMessageResponse:
        """A message's turn; `shadow` runs it on a copy and saves nothing, `compare` also
        returns the comparison (shadow.py)."""

        async def decide(conversation: Conversation) -> Turn:
            return await self.coach.respond(conversation, req.message)

        if shadow:
            return await self._shadow_turn(
                req.participant_id, req.phone_number, req.message_id, decide, now, req.shadow_state
            )
        return await self._turn(
            req.participant_id, req.phone_number, req.message_id, req.message, decide, now, compare
        )

    async def process_event(
        self,
        req: ProcessEventRequest,
        now: datetime | None = None,
        *,
        shadow: bool = False,
        compare: bool = False,
    ) -> ProcessMessageResponse:
        async def decide(conversation: Conversation) -> Turn:
            return await self.coach.on_event(conversation, req.kind, req.event_id, req.payload)

        # Event ids live in the same table as message ids; the prefix keeps them apart.
        key = f"event:{req.event_id}"
        if shadow:
            return await self._shadow_turn(
                req.participant_id, req.phone_number, key, decide, now, req.shadow_state
            )
        return await self._turn(
            req.participant_id, req.phone_number, key, None, decide, now, compare
        )

    async def _shadow_turn(
        self,
        participant_id: str,
        phone_number: str,
        key: str | None,
        decide: Callable[[Conversation], Awaitable[Turn]],
        now: datetime | None,
        state: ConversationState | None,
    ) -> ProcessMessageResponse:
        """The turn on a copy of the conversation (the one given, else the stored one, read
        without a lock), with a scheduler that only records: nothing is written here or at
        delivery. What would have been scheduled comes back in metadata.would_schedule."""
        if state is None:
            state = await self._stored_state(participant_id)
        scheduler = RecordingScheduler(state.flow)
        turn = await decide(
            Conversation(
                participant_id=participant_id,
                phone_number=phone_number,
                sub_state=state.sub_state,
                profile=copy.deepcopy(state.profile),
                history=copy.deepcopy(state.history),
                flow=copy.deepcopy(state.flow),
                now=now or datetime.now(UTC),
                turn_key=key or f"shadow:{uuid.uuid4().hex}",
                scheduler=scheduler,
            )
        )
        answer = answer_of(turn, participant_id, phone_number, key, state.turns + 1)
        answer.metadata.update(
            shadow=True,
            would_schedule=scheduler.calls,
            compare={"tool_calls": tool_calls_with_args(turn.tool_calls)},
        )
        log.info(
            "shadow turn processed",
            extra={"participant_id": participant_id, "message_id": key, "state": turn.sub_state},
        )
        return answer

    async def _stored_state(self, participant_id: str) -> ConversationState:
        """The stored conversation, or a new one's; read only."""
        async with self.pool.connection() as conn:
            conn.row_factory = dict_row  # type: ignore[assignment]
            cur = await conn.execute(
                "SELECT sub_state, profile, flow, turns FROM conversations "
                "WHERE participant_id = %s",
                (participant_id,),
            )
            row: Any = await cur.fetchone()
            if row is None:
                return ConversationState()
            cur = await conn.execute(
                "SELECT role, content FROM history WHERE participant_id = %s ORDER BY id",
                (participant_id,),
            )
            history = [dict(r) for r in await cur.fetchall()]
        return ConversationState(**row, history=history)

    async def _turn(
        self,
        participant_id: str,
        phone_number: str,
        idempotency_key: str | None,
        user_text: str | None,
        decide: Callable[[Conversation], Awaitable[Turn]],
        now: datetime | None,
        compare: bool = False,
    ) -> ProcessMessageResponse:
        """Load, decide, persist: one transaction, holding the conversation's row lock so
        turns of one participant never interleave, whoever calls. `now` is delivery's
        (possibly virtual) time; history is stamped with it. With `compare`, the answer
        also carries the conversation as it was before the turn (not recorded)."""
        started = time.perf_counter()
        context = {"participant_id": participant_id, "message_id": idempotency_key}
        async with self.pool.connection() as conn, conn.transaction():
            conn.row_factory = dict_row  # type: ignore[assignment]
            await conn.execute(
                "INSERT INTO conversations (participant_id, phone_number) VALUES (%s, %s) "
                "ON CONFLICT (participant_id) DO NOTHING",
                (participant_id, phone_number),
            )
            cur = await conn.execute(
                "SELECT sub_state, profile, flow, turns FROM conversations "
                "WHERE participant_id = %s FOR UPDATE",
                (participant_id,),
            )
            row: Any = await cur.fetchone()
            if idempotency_key:
                cur = await conn.execute(
                    "SELECT answer FROM processed_messages WHERE message_id = %s",
                    (idempotency_key,),
                )
                done: Any = await cur.fetchone()
                if done:
                    log.info("repeated call answered from record", extra=context)
                    return ProcessMessageResponse.model_validate(done["answer"])
            cur = await conn.execute(
                "SELECT role, content FROM history WHERE participant_id = %s ORDER BY id",
                (participant_id,),
            )
            history = [dict(r) for r in await cur.fetchall()]
            before = ConversationState(
                sub_state=row["sub_state"],
                profile=copy.deepcopy(row["profile"]),
                flow=copy.deepcopy(row["flow"]),
                history=copy.deepcopy(history),
                turns=row["turns"],
            )
            turn = await decide(
                Conversation(
                    participant_id=participant_id,
                    phone_number=phone_number,
                    sub_state=row["sub_state"],
                    profile=row["profile"],
                    history=history,
                    flow=row["flow"],
                    now=now or datetime.now(UTC),
                    turn_key=idempotency_key or f"turn:{uuid.uuid4().hex}",
                )
            )
            last_turn = LastTurn(
                tool_calls=turn.tool_calls,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                model=turn.model,
            )
            turns = row["turns"] + 1
            answer = answer_of(turn, participant_id, phone_number, idempotency_key, turns)
            said = [("user", user_text), ("assistant", turn.reply)]
            for role, content in said:
                if content:
                    await conn.execute(
                        "INSERT INTO history (participant_id, role, content, created_at) "
                        "VALUES (%s, %s, %s, COALESCE(%s, now()))",
                        (participant_id, role, content, now),
                    )
            await conn.execute(
                "DELETE FROM history WHERE participant_id = %s AND id NOT IN ("
                "SELECT id FROM history WHERE participant_id = %s ORDER BY id DESC LIMIT %s)",
                (participant_id, participant_id, HISTORY_LIMIT),
            )
            await conn.execute(
                "UPDATE conversations SET sub_state = %s, profile = %s, flow = %s, turns = %s, "
                "last_turn = %s, phone_number = %s, updated_at = now() WHERE participant_id = %s",
                (
                    turn.sub_state,
                    Jsonb(turn.profile),
                    Jsonb(turn.flow),
                    turns,
                    Jsonb(last_turn.model_dump()),
                    phone_number,
                    participant_id,
                ),
            )
            if idempotency_key:
                await conn.execute(
                    "INSERT INTO processed_messages (message_id, participant_id, answer) "
                    "VALUES (%s, %s, %s)",
                    (idempotency_key, participant_id, Jsonb(answer.model_dump())),
                )
        log.info(
            "turn processed",
            extra={
                **context,
                "phone": mask_phone(phone_number),
                "state": turn.sub_state,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        if compare:
            comparison = {
                "state_before": before.model_dump(),
                "tool_calls": tool_calls_with_args(turn.tool_calls),
            }
            answer.metadata = {**answer.metadata, "compare": comparison}
        return answer

    async def summaries(self) -> list[ConversationSummary]:
        """Every conversation's sub-state and size, most recently active first."""
        async with self.pool.connection() as conn:
            conn.row_factory = dict_row  # type: ignore[assignment]
            cur = await conn.execute(
                "SELECT participant_id, sub_state AS state, turns, updated_at FROM conversations "
                "ORDER BY updated_at DESC"
            )
            rows: Any = await cur.fetchall()
        return [ConversationSummary(**r) for r in rows]

    async def get(self, participant_id: str) -> ConversationView:
        async with self.pool.connection() as conn:
            conn.row_factory = dict_row  # type: ignore[assignment]
            cur = await conn.execute(
                "SELECT sub_state, profile, flow, turns, last_turn, updated_at FROM conversations "
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
            last_turn=row["last_turn"],
            schedules=row["flow"].get("schedules") or [],
        )


def answer_of(
    turn: Turn, participant_id: str, phone_number: str, message_id: str | None, turns: int
) -> ProcessMessageResponse:
    """The wire answer to a turn: the guide's response, state and metadata, and our
    buttons and template."""
    return ProcessMessageResponse(
        response=turn.reply,
        state=turn.sub_state,
        buttons=[Button(**b) for b in turn.buttons] or None,
        template=TemplateFallback(**turn.template) if turn.template else None,
        metadata={
            "participant_id": participant_id,
            "phone_number": phone_number,
            "message_id": message_id,
            "turn": turns,
            # Debug details; the guide's client keeps metadata as an opaque map.
            "model": turn.model,
            "tool_calls": [c["name"] for c in turn.tool_calls],
        },
    )
