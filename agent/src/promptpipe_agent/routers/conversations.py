"""GET /conversations/{participant_id}: read-only state, profile and history."""

from __future__ import annotations

from fastapi import APIRouter, Request

from promptpipe_agent.conversations import Conversations
from promptpipe_agent.schemas import ConversationView

router = APIRouter(tags=["conversations"])


@router.get("/conversations/{participant_id}", response_model=ConversationView)
async def get_conversation(participant_id: str, request: Request) -> ConversationView:
    conversations: Conversations = request.app.state.conversations
    return await conversations.get(participant_id)
