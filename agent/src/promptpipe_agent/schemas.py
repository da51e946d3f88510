"""Request and response bodies of the agent's API (the integration guide's schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from promptpipe_agent.shadow import ConversationState


def _check_storable(value: Any) -> None:
    """Postgres cannot keep NUL in text or jsonb, and a lone surrogate is not Unicode:
    either would fail the turn's write after the work was done (a 500)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item)


class TurnRequest(BaseModel):
    """A body the agent stores: every string in it must be storable (else 422)."""

    @model_validator(mode="before")
    @classmethod
    def _only_storable_text(cls, data: Any) -> Any:
        _check_storable(data)
        return data


class ProcessMessageRequest(TurnRequest):
    participant_id: str = Field(min_length=1, max_length=200)
    message: str = Field(max_length=10_000)
    phone_number: str = Field(min_length=1, max_length=40)
    # Our addition: the wamid, used as idempotency key. Optional so the guide's client works.
    message_id: str | None = Field(default=None, max_length=200)
    # Our addition for shadow turns (X-PromptPipe-Shadow, shadow.py): the conversation to
    # run the turn on instead of the stored one.
    shadow_state: ConversationState | None = None


class ProcessEventRequest(TurnRequest):
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
