"""POST /process-message and /process-event: one conversation turn."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from promptpipe_agent import metrics
from promptpipe_agent.auth import trusted_now
from promptpipe_agent.dependencies import ConversationsDep
from promptpipe_agent.errors import MALFORMED_BODY, AgentError
from promptpipe_agent.schemas import (
    ProcessEventRequest,
    ProcessMessageRequest,
    ProcessMessageResponse,
)
from promptpipe_agent.shadow import COMPARE_HEADER, SHADOW_HEADER

router = APIRouter(tags=["messages"], responses=MALFORMED_BODY)

# The migration's markers (shadow.py, docs/migration.md): "true" switches one on.
ShadowHeader = Annotated[str | None, Header(alias=SHADOW_HEADER)]
CompareHeader = Annotated[str | None, Header(alias=COMPARE_HEADER)]


class ShadowStateWithoutMarker(AgentError):
    """A shadow_state sent without the shadow marker would be ignored, and the turn saved:
    refused instead, so that a caller's mistake changes nothing."""

    status_code = 422
    code = "shadow_state_without_marker"


@dataclass(frozen=True)
class Marks:
    """A turn's migration markers: a shadow's (answer, record nothing) and whether to
    compare (answer with the state before the turn)."""

    shadow: bool
    compare: bool

    def allow(self, body: ProcessMessageRequest | ProcessEventRequest) -> None:
        if body.shadow_state is not None and not self.shadow:
            raise ShadowStateWithoutMarker(
                "shadow_state is only read with X-PromptPipe-Shadow: true."
            )


def marks(shadow: ShadowHeader = None, compare: CompareHeader = None) -> Marks:
    def on(value: str | None) -> bool:
        return (value or "").strip().lower() == "true"

    return Marks(shadow=on(shadow), compare=on(compare))


MarksDep = Annotated[Marks, Depends(marks)]
Now = Annotated[datetime | None, Depends(trusted_now)]


@router.post(
    "/process-message", response_model=ProcessMessageResponse, response_model_exclude_none=True
)
async def process_message(
    body: ProcessMessageRequest, conversations: ConversationsDep, now: Now, marks: MarksDep
) -> ProcessMessageResponse:
    marks.allow(body)
    turn = conversations.process_message(body, now, shadow=marks.shadow, compare=marks.compare)
    return await _counted("message", marks.shadow, turn)


@router.post(
    "/process-event", response_model=ProcessMessageResponse, response_model_exclude_none=True
)
async def process_event(
    body: ProcessEventRequest, conversations: ConversationsDep, now: Now, marks: MarksDep
) -> ProcessMessageResponse:
    marks.allow(body)
    turn = conversations.process_event(body, now, shadow=marks.shadow, compare=marks.compare)
    return await _counted("event", marks.shadow, turn)


async def _counted(
    kind: str, shadow: bool, turn: Awaitable[ProcessMessageResponse]
) -> ProcessMessageResponse:
    """Runs the turn, counting it, its latency and its tool calls."""
    label = "true" if shadow else "false"
    started = time.perf_counter()
    try:
        answer = await turn
    except Exception:
        metrics.TURNS.labels(kind, label, "error").inc()
        raise
    finally:
        metrics.TURN_SECONDS.labels(kind, label).observe(time.perf_counter() - started)
    metrics.TURNS.labels(kind, label, "ok").inc()
    for tool in answer.metadata.get("tool_calls") or []:
        metrics.TOOL_CALLS.labels(str(tool), label).inc()
    return answer
