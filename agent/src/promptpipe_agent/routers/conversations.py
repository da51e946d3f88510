"""GET /conversations and /conversations/{participant_id}: read-only views of the
conversations (sub-states for a list; state, profile and history for one)."""

from __future__ import annotations

from fastapi import APIRouter

from promptpipe_agent.dependencies import ConversationsDep
from promptpipe_agent.errors import ErrorBody
from promptpipe_agent.schemas import ConversationList, ConversationView

router = APIRouter(tags=["conversations"])


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(conversations: ConversationsDep) -> ConversationList:
    return ConversationList(conversations=await conversations.summaries())


@router.get(
    "/conversations/{participant_id}",
    response_model=ConversationView,
    responses={404: {"model": ErrorBody, "description": "No conversation with this participant"}},
)
async def get_conversation(
    participant_id: str, conversations: ConversationsDep
) -> ConversationView:
    return await conversations.get(participant_id)
