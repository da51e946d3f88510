"""Shadow turns and comparisons, for delivery's migration between two agents.

A call marked `X-PromptPipe-Shadow: true` is a shadow turn: another agent answered the
participant for real, and this one is asked what it would have said. It runs on a copy of
the conversation (the `shadow_state` delivery sends, else its own stored state), saves
nothing, and calls no delivery API: what it would have scheduled is recorded by
`RecordingScheduler` and returned in `metadata.would_schedule`. A call marked
`X-PromptPipe-Compare: true` is a real turn that also returns, in `metadata.compare`, the
conversation as it was before the turn and the tool calls with their arguments, so that
delivery can hand both to the shadow. docs/migration.md has the whole contract.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, Field

from promptpipe_agent.coach import INTAKE

SHADOW_HEADER = "X-PromptPipe-Shadow"
COMPARE_HEADER = "X-PromptPipe-Compare"


class ConversationState(BaseModel):
    """A conversation as a turn starts from it: what `metadata.compare.state_before` holds
    and what a shadow turn's `shadow_state` carries."""

    sub_state: str = INTAKE
    profile: dict[str, Any] = Field(default_factory=dict)
    flow: dict[str, Any] = Field(default_factory=dict)
    history: list[dict[str, str]] = Field(default_factory=list)
    turns: int = 0


class RecordingScheduler:
    """The Scheduler of a shadow turn (delivery.Scheduler, every method): it answers as
    delivery would and keeps what the turn asked for, calling nothing. Its daily schedules
    are the ones the conversation's flow says exist."""

    def __init__(self, flow: dict[str, Any]) -> None:
        self.calls: list[dict[str, Any]] = []
        self._daily = [
            {
                "id": s["id"],
                "kind": "daily_prompt",
                "local_time": s.get("prompt_time"),
                "timezone": s.get("timezone"),
            }
            for s in copy.deepcopy(flow.get("schedules") or [])
            if s.get("id")
        ]

    def _record(self, action: str, **details: Any) -> str:
        self.calls.append({"action": action, **details})
        return f"shadow_{len(self.calls)}"

    async def list_daily(self, participant_id: str) -> list[dict[str, Any]]:
        return [dict(job) for job in self._daily]

    async def create_daily(
        self, participant_id: str, kind: str, local_time: str, timezone: str | None = None
    ) -> dict[str, Any]:
        job_id = self._record("create_daily", kind=kind, local_time=local_time, timezone=timezone)
        job = {"id": job_id, "kind": kind, "local_time": local_time, "timezone": timezone}
        self._daily.append(job)
        return dict(job)

    async def delete_daily(self, participant_id: str, schedule_id: str) -> bool:
        self._record("delete_daily", schedule_id=schedule_id)
        before = len(self._daily)
        self._daily = [j for j in self._daily if j["id"] != schedule_id]
        return len(self._daily) < before

    async def schedule_event(
        self,
        participant_id: str,
        kind: str,
        delay_seconds: float,
        dedupe_key: str,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        job_id = self._record(
            "schedule_event",
            kind=kind,
            delay_seconds=delay_seconds,
            dedupe_key=dedupe_key,
            payload=payload or {},
        )
        return {"id": job_id, "kind": kind, "dedupe_key": dedupe_key}

    async def cancel_event(self, participant_id: str, event_id: str) -> None:
        self._record("cancel_event", event_id=event_id)

    async def set_status(self, participant_id: str, status: str) -> None:
        self._record("set_status", status=status)


def tool_calls_with_args(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turn's tool calls as compared: name and arguments (results differ by ids)."""
    return [{"name": c["name"], "args": c.get("args") or {}} for c in calls]
