"""The inspector's text: the agent's view of the participant, delivery's pending jobs and
the message templates WhatsApp would let the business send."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape


def _local(value: str, timezone: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(ZoneInfo(timezone or "UTC")).strftime("%a %d %b %H:%M")
    except (ValueError, ZoneInfoNotFoundError):
        return value


# How each review status of a template is coloured.
TEMPLATE_STATUS = {"APPROVED": "green", "PENDING": "yellow", "PAUSED": "dim"}


def inspector_markup(
    state: dict[str, Any] | None,
    jobs: list[dict[str, Any]] | None,
    timezone: str,
    templates: list[dict[str, Any]] | None = None,
) -> str:
    """Sub-state, profile, pending jobs (in the participant's time), the last turn's
    tool calls and latency when the agent reports them, and the message templates with
    their review status. None: that source is down (no templates: the section is left
    out, as an older mock has none)."""
    lines = ["[b]Agent[/]"]
    if state is None:
        lines.append("[dim]no conversation yet[/]")
    else:
        lines.append(f"sub-state: [b]{escape(str(state.get('state')))}[/]")
        if state.get("turns") is not None:
            lines.append(f"turns: {state.get('turns')}")
        profile = {k: v for k, v in (state.get("profile") or {}).items() if v not in ("", None)}
        lines.append("\n[b]Profile[/]")
        if not profile:
            lines.append("[dim]empty[/]")
        for key, value in profile.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"[dim]{escape(key)}:[/] {escape(str(shown))}")
    lines.append("\n[b]Pending jobs[/]")
    if jobs is None:
        lines.append("[dim]delivery unavailable[/]")
    elif not jobs:
        lines.append("[dim]none[/]")
    for job in jobs or []:
        when = _local(str(job.get("next_run_at", "")), timezone)
        daily = f" daily {job['local_time']}" if job.get("local_time") else ""
        lines.append(f"{escape(str(job.get('kind')))}{daily}\n  [dim]next {when}[/]")
    turn = (state or {}).get("last_turn")
    if isinstance(turn, dict):
        lines.append("\n[b]Last turn[/]")
        extra = [f"{turn['latency_ms']:.0f} ms" if "latency_ms" in turn else ""]
        extra.append(str(turn.get("model") or ""))
        lines.append("[dim]" + " · ".join(e for e in extra if e) + "[/]")
        for call in turn.get("tool_calls") or []:
            args = json.dumps(call.get("args", {}), ensure_ascii=False)
            lines.append(f"🔧 {escape(str(call.get('name')))} {escape(args)}")
            if call.get("result") is not None:
                lines.append(f"  [dim]→ {escape(str(call['result'])[:120])}[/]")
    if templates is not None:
        lines.append("\n[b]Templates[/]")
        if not templates:
            lines.append("[dim]none[/]")
        for t in templates:
            status = str(t.get("status", ""))
            shown = status.lower() + (f" {t['rejected_reason']}" if status == "REJECTED" else "")
            colour = TEMPLATE_STATUS.get(status, "red")
            lines.append(
                f"{escape(str(t.get('name')))} [dim]{escape(str(t.get('language')))}[/] "
                f"[{colour}]{escape(shown)}[/]"
            )
    return "\n".join(lines)
