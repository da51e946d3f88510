"""POST /process-message and /process-event: one conversation turn."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header

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
    x_promptpipe_now: Annotated[datetime | None, Header()] = None,
) -> ProcessMessageResponse:
    return await conversations.process_message(body, x_promptpipe_now)


@router.post(
    "/process-event", response_model=ProcessMessageResponse, response_model_exclude_none=True
)
async def process_event(
    body: ProcessEventRequest,
    conversations: ConversationsDep,
    x_promptpipe_now: Annotated[datetime | None, Header()] = None,
) -> ProcessMessageResponse:
    return await conversations.process_event(body, x_promptpipe_now)
