"""Conversation turns: load state, ask the coach, persist, all in one transaction."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from promptpipe_service.logs import mask_phone
from psycopg_pool import AsyncConnectionPool

from promptpipe_agent import store
from promptpipe_agent.coach import Coach, Conversation, Turn
from promptpipe_agent.errors import NotFound
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
        """The stored conversation, or a new one's; read only, no lock."""
        async with self.pool.connection() as conn:
            row = await store.conversation(conn, participant_id)
            if row is None:
                return ConversationState()
            said = await store.history(conn, participant_id)
        return ConversationState(
            sub_state=row["sub_state"],
            profile=row["profile"],
            flow=row["flow"],
            turns=row["turns"],
            history=said,
        )

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
        # Pipeline mode: the statements before the coach decides go in one round trip,
        # those after it with the commit in another (store.open_turn, store.close_turn).
        async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            opened = await store.open_turn(conn, participant_id, phone_number, idempotency_key)
            if opened.answer is not None:
                log.info("repeated call answered from record", extra=context)
                return ProcessMessageResponse.model_validate(opened.answer)
            row, said_before = opened.conversation, opened.history
            # Copied before the coach changes them, and only when asked (a shadow's match).
            before = (
                ConversationState(
                    sub_state=row["sub_state"],
                    profile=copy.deepcopy(row["profile"]),
                    flow=copy.deepcopy(row["flow"]),
                    history=copy.deepcopy(said_before),
                    turns=row["turns"],
                )
                if compare
                else None
            )
            turn = await decide(
                Conversation(
                    participant_id=participant_id,
                    phone_number=phone_number,
                    sub_state=row["sub_state"],
                    profile=row["profile"],
                    history=said_before,
                    flow=row["flow"],
                    now=now or datetime.now(UTC),
                    turn_key=idempotency_key or f"turn:{uuid.uuid4().hex}",
                )
            )
            turns = row["turns"] + 1
            answer = answer_of(turn, participant_id, phone_number, idempotency_key, turns)
            said = [("user", user_text or ""), ("assistant", turn.reply)]
            last_turn = LastTurn(
                tool_calls=turn.tool_calls,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                model=turn.model,
            )
            await store.close_turn(
                conn,
                participant_id,
                said=[(r, t) for r, t in said if t],
                at=now,
                kept=len(opened.history),
                phone=phone_number,
                sub_state=turn.sub_state,
                profile=turn.profile,
                flow=turn.flow,
                turns=turns,
                last_turn=last_turn.model_dump(),
                key=idempotency_key,
                answer=answer.model_dump(),
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
        if before is not None:
            comparison = {
                "state_before": before.model_dump(),
                "tool_calls": tool_calls_with_args(turn.tool_calls),
            }
            answer.metadata = {**answer.metadata, "compare": comparison}
        return answer

    async def summaries(self) -> list[ConversationSummary]:
        """Every conversation's sub-state and size, most recently active first."""
        async with self.pool.connection() as conn:
            rows = await store.summaries(conn)
        return [ConversationSummary(**r) for r in rows]

    async def get(self, participant_id: str) -> ConversationView:
        async with self.pool.connection() as conn:
            row = await store.conversation(conn, participant_id)
            if row is None:
                raise NotFound(f"No conversation with participant {participant_id}.")
            rows = await store.stamped_history(conn, participant_id)
        return ConversationView(
            participant_id=participant_id,
            state=row["sub_state"],
            profile=row["profile"],
            turns=row["turns"],
            history=[
                HistoryItem(role=r["role"], content=r["content"], timestamp=r["created_at"])
                for r in rows
            ],
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
