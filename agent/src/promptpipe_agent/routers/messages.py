"""POST /process-message and /process-event: one conversation turn."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from promptpipe_agent.auth import trusted_now
from promptpipe_agent.dependencies import ConversationsDep
from promptpipe_agent.schemas import (
    ProcessEventRequest,
    ProcessMessageRequest,
    ProcessMessageResponse,
)

router = APIRouter(tags=["messages"])


@router.post(
    "/process-message", response_model=ProcessMessageResponse, response_model_exclude_none=True
)
async def process_message(
    body: ProcessMessageRequest,
    conversations: ConversationsDep,
    now: Annotated[datetime | None, Depends(trusted_now)],
) -> ProcessMessageResponse:
    return await conversations.process_message(body, now)


@router.post(
    "/process-event", response_model=ProcessMessageResponse, response_model_exclude_none=True
)
async def process_event(
    body: ProcessEventRequest,
    conversations: ConversationsDep,
    now: Annotated[datetime | None, Depends(trusted_now)],
) -> ProcessMessageResponse:
    return await conversations.process_event(body, now)
