"""The coach's contract with the conversation store: given a conversation and a new message
(or a due event), what to say next and what changed. `graph.GraphCoach` implements it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable

from promptpipe_agent import metrics
from promptpipe_agent.cassette import CassetteMismatch
from promptpipe_agent.delivery import Scheduler
from promptpipe_agent.errors import AgentError

log = logging.getLogger("promptpipe_agent")

INTAKE = "INTAKE"
FEEDBACK = "FEEDBACK"

DONE = {"id": "done", "title": "Done"}
NEXT_TIME = {"id": "next_time", "title": "Next time"}


@dataclass
class Turn:
    """What the coach decided: the reply (empty: say nothing), the new state, buttons, and
    what it did on the way (tool calls, model), for the inspector."""

    reply: str
    sub_state: str
    profile: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, Any] = field(default_factory=dict)
    buttons: list[dict[str, str]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    model: str = ""
    # The template to send instead if the 24-hour window has closed: {"name", "parameters"}.
    template: dict[str, Any] | None = None


@dataclass
class Conversation:
    """What the coach may look at: the participant's state and recent history."""

    participant_id: str
    phone_number: str
    sub_state: str
    profile: dict[str, Any]
    history: list[dict[str, str]]
    flow: dict[str, Any]
    now: datetime
    turn_key: str  # the message or event id (or a fresh one): idempotency for delivery calls
    # Who the turn asks for timers; None: delivery. A shadow turn's records instead.
    scheduler: Scheduler | None = None


class Coach(Protocol):
    async def respond(self, conversation: Conversation, message: str) -> Turn: ...

    async def on_event(
        self, conversation: Conversation, kind: str, event_id: str, payload: dict[str, Any]
    ) -> Turn: ...


class UnknownEvent(AgentError):
    """delivery fired an event kind this coach does not know; retrying will not help."""

    status_code = 422
    code = "unknown_event"


class ModelUnavailable(AgentError):
    """The language model failed (timeout, 5xx, unusable output, a cassette mismatch). The
    participant never sees why: delivery retries a 503 and then sends its apology."""

    status_code = 503
    code = "llm_unavailable"


async def call_model(
    model: Runnable[LanguageModelInput, Any], messages: LanguageModelInput
) -> AIMessage:
    """One model call; any failure becomes ModelUnavailable, with the reason in the log only."""
    try:
        answer = await model.ainvoke(messages)
        metrics.MODEL_CALLS.labels("ok").inc()
    except CassetteMismatch as exc:
        metrics.MODEL_CALLS.labels("error").inc()
        # Loud in the log (the call and the diff), quiet on the wire (no prompt text).
        log.error("cassette mismatch", extra={"error": exc.message})
        raise ModelUnavailable(
            "The recorded model session does not match this conversation; see the log."
        ) from exc
    except AgentError:
        metrics.MODEL_CALLS.labels("error").inc()
        raise
    except Exception as exc:  # timeouts, 5xx, refused connections, unparsable answers
        metrics.MODEL_CALLS.labels("error").inc()
        log.exception("model call failed")
        raise ModelUnavailable("The coach's language model is not answering.") from exc
    if not isinstance(answer, AIMessage):
        raise ModelUnavailable("The coach's language model gave an unusable answer.")
    return answer
