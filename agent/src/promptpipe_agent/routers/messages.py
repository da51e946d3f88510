"""POST /process-message: one conversation turn."""

from __future__ import annotations

from fastapi import APIRouter, Request

from promptpipe_agent.conversations import Conversations
from promptpipe_agent.schemas import ProcessMessageRequest, ProcessMessageResponse

router = APIRouter(tags=["messages"])


@router.post("/process-message", response_model=ProcessMessageResponse)
async def process_message(body: ProcessMessageRequest, request: Request) -> ProcessMessageResponse:
    conversations: Conversations = request.app.state.conversations
    return await conversations.process_message(body)
