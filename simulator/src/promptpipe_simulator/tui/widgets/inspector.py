"""The inspector: the agent's view of the participant, delivery's pending jobs, the last
turn, with both the agent's own time and what the participant waited, and the message
templates WhatsApp would let the business send, with their review status.

It is narrow (26 columns at 80x24), so it says times relative to the stack's clock ("in
5 h 20 min") rather than as ISO timestamps, lets long values wrap, and scrolls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from promptpipe_simulator.tui.stack_time import StackClock, parse_moment, span


@dataclass
class Turn:
    """Delivery's side of one turn: from taking the participant's message to queuing the
    reply, agent retries included."""

    duration_ms: float
    route: str  # agent, fallback, acknowledged
    attempts: int = 0  # calls to the agent


class TurnTimes:
    """What delivery's event feed says about each message's turn, by the message's id."""

    def __init__(self) -> None:
        self.turns: dict[str, Turn] = {}
        self._attempts: dict[str, int] = {}

    def record(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            data = event.get("data") or {}
            kind = event.get("kind")
            if kind == "agent.call" and data.get("key"):
                key = str(data["key"])
                self._attempts[key] = max(self._attempts.get(key, 0), int(data.get("attempt") or 1))
            elif kind == "reply.queued" and data.get("message_id"):
                wamid = str(data["message_id"])
                self.turns[wamid] = Turn(
                    float(data.get("duration_ms") or 0),
                    str(data.get("route") or ""),
                    self._attempts.get(wamid, 0),
                )

    def of(self, message_id: str | None) -> Turn | None:
        return self.turns.get(message_id or "")


# How each review status of a template is coloured.
TEMPLATE_STATUS = {"APPROVED": "green", "PENDING": "yellow", "PAUSED": "dim"}


def inspector_markup(
    state: dict[str, Any] | None,
    jobs: list[dict[str, Any]] | None,
    clock: StackClock,
    turn: Turn | None = None,
    templates: list[dict[str, Any]] | None = None,
) -> str:
    """Sub-state, the last turn, pending jobs, profile and templates. `state` None: the
    agent has no conversation yet; `jobs` None: delivery did not answer; `templates`
    None: the mock did not answer (the section is left out)."""
    lines = ["[b]Agent[/]"]
    if state is None:
        lines.append("[dim]no conversation yet[/]")
    else:
        turns = f" · {state['turns']} turns" if state.get("turns") is not None else ""
        lines.append(f"[b]{escape(str(state.get('state')))}[/]{turns}")
    lines += _last_turn((state or {}).get("last_turn"), turn)
    lines.append("\n[b]Pending jobs[/]")
    if jobs is None:
        lines.append("[dim]delivery unavailable[/]")
    elif not jobs:
        lines.append("[dim]none[/]")
    for job in jobs or []:
        daily = f" daily {escape(str(job['local_time']))}" if job.get("local_time") else ""
        when = job.get("next_run_at")
        lines.append(f"{escape(str(job.get('kind')))}{daily}")
        lines.append(f"  [dim]{clock.relative(when)} ({clock.day_and_time(when)})[/]")
    if state is not None:
        profile = {k: v for k, v in (state.get("profile") or {}).items() if v not in ("", None)}
        lines.append("\n[b]Profile[/]")
        if not profile:
            lines.append("[dim]empty[/]")
        for key, value in profile.items():
            lines.append(f"[dim]{escape(key)}:[/] {escape(_readable(value, clock))}")
    lines += _templates(templates)
    return "\n".join(lines)


def _templates(templates: list[dict[str, Any]] | None) -> list[str]:
    if templates is None:
        return []
    lines = ["\n[b]Templates[/]"]
    if not templates:
        lines.append("[dim]none[/]")
    for template in templates:
        status = str(template.get("status", ""))
        shown = status.lower()
        if status == "REJECTED" and template.get("rejected_reason"):
            shown += f" {template['rejected_reason']}"
        colour = TEMPLATE_STATUS.get(status, "red")
        lines.append(
            f"{escape(str(template.get('name')))} [dim]{escape(str(template.get('language')))}[/]"
            f" [{colour}]{escape(shown)}[/]"
        )
    return lines


def _readable(value: object, clock: StackClock) -> str:
    """A profile value for a narrow panel: a time relative to the stack's clock rather
    than an ISO timestamp, which cannot wrap."""
    if isinstance(value, str):
        looks_like_time = len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T"
        if looks_like_time and parse_moment(value) is not None:
            return clock.relative(value)
        return value
    return json.dumps(value, ensure_ascii=False)


def _last_turn(agent_turn: object, turn: Turn | None) -> list[str]:
    if not isinstance(agent_turn, dict) and turn is None:
        return []
    lines = ["\n[b]Last turn[/]"]
    if turn is not None:
        tries = f", {turn.attempts} tries" if turn.attempts > 1 else ""
        route = "" if turn.route == "agent" else f", {turn.route}"
        lines.append(f"participant waited [b]{span(turn.duration_ms / 1000)}[/]{tries}{route}")
    if isinstance(agent_turn, dict):
        own = []
        if "latency_ms" in agent_turn:
            own.append(f"agent's own time {span(float(agent_turn['latency_ms']) / 1000)}")
        if agent_turn.get("model"):
            own.append(str(agent_turn["model"]))
        if own:
            lines.append("[dim]" + escape(" · ".join(own)) + "[/]")
        for call in agent_turn.get("tool_calls") or []:
            args = json.dumps(call.get("args", {}), ensure_ascii=False)
            lines.append(f"→ {escape(str(call.get('name')))} [dim]{escape(args)}[/]")
            if call.get("result") is not None:
                lines.append(f"  [dim]= {escape(str(call['result'])[:120])}[/]")
    return lines


class Inspector(VerticalScroll):
    """The inspector panel; `show` replaces its text, keeping the reader's place."""

    def compose(self) -> ComposeResult:
        yield Static("[dim]No participant open[/]", id="inspector-text")

    shown = ""

    def show(self, markup: str) -> None:
        if markup != self.shown:
            self.shown = markup
            self.query_one("#inspector-text", Static).update(markup)
