"""The agent's Prometheus metrics: turns (latency, result, shadow or not), tool calls and
model calls. Module-level, in prometheus_client's default registry, which GET /metrics
serves; labels never carry participant ids or phone numbers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TURN_SECONDS = Histogram(
    "agent_turn_duration_seconds",
    "Time to answer /process-message or /process-event, by kind (message, event) and shadow.",
    ["kind", "shadow"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TURNS = Counter(
    "agent_turns_total",
    "Turns answered, by kind (message, event), shadow (true, false) and result (ok, error).",
    ["kind", "shadow", "result"],
)
TOOL_CALLS = Counter(
    "agent_tool_calls_total",
    "Tool calls the coach made in turns that were answered, by tool and shadow.",
    ["tool", "shadow"],
)
MODEL_CALLS = Counter(
    "agent_model_calls_total",
    "Calls to the language model (offline script or OpenAI-compatible), by result.",
    ["result"],
)
CONVERSATIONS = Gauge(
    "agent_conversations",
    "Participants per conversation sub-state (INTAKE, FEEDBACK), read when scraped.",
    ["state"],
)


def set_states(counts: dict[str, int]) -> None:
    """The state distribution as the database has it now; a state no one is in reads 0."""
    for state in ("INTAKE", "FEEDBACK", *counts):
        CONVERSATIONS.labels(state).set(counts.get(state, 0))
