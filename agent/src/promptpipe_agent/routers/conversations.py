"""GET /conversations and /conversations/{participant_id}: read-only views of the
conversations (sub-states for a list; state, profile and history for one)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from promptpipe_agent.conversations import Conversations
from promptpipe_agent.errors import ErrorBody
from promptpipe_agent.schemas import ConversationList, ConversationView

router = APIRouter(tags=["conversations"])


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(request: Request) -> ConversationList:
    conversations: Conversations = request.app.state.conversations
    return ConversationList(conversations=await conversations.summaries())


@router.get(
    "/conversations/{participant_id}",
    response_model=ConversationView,
    responses={404: {"model": ErrorBody, "description": "No conversation with this participant"}},
)
async def get_conversation(participant_id: str, request: Request) -> ConversationView:
    conversations: Conversations = request.app.state.conversations
    return await conversations.get(participant_id)
