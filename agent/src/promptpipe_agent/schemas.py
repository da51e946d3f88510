"""Request and response bodies of the agent's API (the integration guide's schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from promptpipe_service.storable import StorableInput
from pydantic import BaseModel, Field

from promptpipe_agent.shadow import ConversationState


# The bodies of turns derive from StorableInput: the agent stores them, so a string
# Postgres cannot keep is a 422 before the turn, not a 500 after it.
class ProcessMessageRequest(StorableInput):
    """A participant's message, for a turn."""

    participant_id: str = Field(min_length=1, max_length=200)
    message: str = Field(max_length=10_000)
    phone_number: str = Field(min_length=1, max_length=40)
    # Our addition: the wamid, used as idempotency key. Optional so the guide's client works.
    message_id: str | None = Field(default=None, max_length=200)
    # Our addition for shadow turns (X-PromptPipe-Shadow, shadow.py): the conversation to
    # run the turn on instead of the stored one.
    shadow_state: ConversationState | None = None


class ProcessEventRequest(StorableInput):
    """delivery calls back when a scheduled event is due; event_id is the idempotency key."""

    participant_id: str = Field(min_length=1, max_length=200)
    phone_number: str = Field(min_length=1, max_length=40)
    event_id: str = Field(min_length=1, max_length=300)
    kind: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)
    scheduled_for: datetime | None = None
    shadow_state: ConversationState | None = None  # as for messages


class Button(BaseModel):
    """A reply button delivery shows with the response (WhatsApp: at most 3, titles ≤ 20)."""

    id: str
    title: str = Field(max_length=20)


class TemplateFallback(BaseModel):
    """An approved WhatsApp template delivery sends instead of the response when WhatsApp
    refuses free-form text because the participant has not written for 24 hours."""

    name: str
    language: str | None = None
    parameters: list[str] = Field(default_factory=list)


class ProcessMessageResponse(BaseModel):
    response: str
    state: str
    metadata: dict[str, Any]
    # Our additions, ignored by the integration guide's client.
    buttons: list[Button] | None = None
    template: TemplateFallback | None = None


class HistoryItem(BaseModel):
    role: str
    content: str
    timestamp: datetime


class ToolCall(BaseModel):
    name: str
    args: dict[str, Any]
    result: str | None


class LastTurn(BaseModel):
    """What the newest turn did: for the simulator's inspector, never for the participant."""

    tool_calls: list[ToolCall]
    latency_ms: float
    model: str


class ConversationSummary(BaseModel):
    """One line of the conversation list: enough for the simulator's sidebar."""

    participant_id: str
    state: str
    turns: int
    updated_at: datetime


class ConversationList(BaseModel):
    conversations: list[ConversationSummary]


class ConversationView(BaseModel):
    participant_id: str
    state: str
    profile: dict[str, Any]
    turns: int
    history: list[HistoryItem]
    updated_at: datetime
    last_turn: LastTurn | None = None
    # The daily prompt schedules the agent set up at delivery (delivery is the source of truth).
    schedules: list[dict[str, Any]] = Field(default_factory=list)
