"""Turn a session in the simulator into a scenario: what the participant sent and tapped
(their chat), what the simulator did meanwhile (clock jumps, pause and resume, faults),
and loose expectations of what the coach answered, so it replays as a test.

The chat holds the participant's messages and taps; the simulator's own actions are not
in it, so a `SessionLog` notes each one with the chat's length at that moment, which
places it between the messages when the scenario is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from promptpipe_simulator.core.clients import ChatMessage, Participant


@dataclass
class Mark:
    """An action of the simulator's, in one participant's chat."""

    position: int  # the chat's length when it happened: it goes before chat[position]
    step: dict[str, Any] | str  # a step as written in a scenario file (`pause` alone)


@dataclass
class SessionLog:
    """The simulator's actions this session, for each participant it has dealt with
    (enrolled, acted on or shown): only theirs are placed, since placing one needs a look
    at their chat."""

    watched: set[str] = field(default_factory=set)  # their phones
    marks: dict[str, list[Mark]] = field(default_factory=dict)  # phone → its marks

    def watch(self, phone: str) -> None:
        self.watched.add(phone)

    def mark(self, phone: str, position: int, step: dict[str, Any] | str) -> None:
        self.marks.setdefault(phone, []).append(Mark(position, step))


def earliest_job(jobs: list[dict[str, Any]]) -> tuple[str, datetime] | None:
    """The participant's next pending job: (kind, when)."""
    due = [(_parse_time(j["next_run_at"]), str(j["kind"])) for j in jobs if j.get("next_run_at")]
    if not due:
        return None
    when, kind = min(due)
    return kind, when


def clock_jump_step(
    seconds: float, landed: datetime, anchor: tuple[str, datetime] | None
) -> dict[str, Any]:
    """The step that replays a clock jump for one participant. Replayed later, their
    schedule sits elsewhere on the clock, so a fixed duration could fire a prompt that
    did not fire, or miss one that did; the jump is written relative to the job that was
    next for them (`to_job`, with where the clock landed from it), and as a plain
    duration only when nothing was pending."""
    if anchor is None:
        return {"advance": format_duration(seconds)}
    kind, when = anchor
    offset = (landed - when).total_seconds()
    sign = "-" if offset < 0 else ""
    return {"advance": {"to_job": re.escape(kind), "offset": sign + format_duration(abs(offset))}}


def format_duration(seconds: float) -> str:
    """3690 → '1h1m30s': the scenario format's durations, largest units first."""
    left = max(0, round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def scenario_from_chat(
    participant: Participant, chat: list[ChatMessage], marks: list[Mark] | None = None
) -> dict[str, Any]:
    """A scenario dict that replays the participant's side and the simulator's actions,
    and checks the coach's loosely: buttons or rows when offered, a template's name, a
    question when it asked one, else just "a reply"."""
    pending = sorted(marks or [], key=lambda m: m.position)  # stable: same place, same order
    steps: list[dict[str, Any] | str] = []
    for index, message in enumerate(chat):
        while pending and pending[0].position <= index:
            steps.append(pending.pop(0).step)
        step = _step_for(message)
        if step is not None:
            steps.append(step)
    steps.extend(mark.step for mark in pending)
    persona = {"name": participant.name, "timezone": participant.timezone or "UTC"}
    return {
        "name": f"Recorded with {participant.name or participant.phone_number}",
        "description": "Recorded in the simulator; the coach's side is checked loosely.",
        "participants": {"participant": {k: v for k, v in persona.items() if v}},
        "steps": steps,
    }


def _step_for(message: ChatMessage) -> dict[str, Any] | None:
    emoji = (message.reaction or {}).get("emoji")
    if message.direction == "inbound":
        if message.type == "interactive":
            return {"tap": message.text}
        if message.type == "text":
            return {"send": message.text}
        if message.type == "reaction" and emoji:
            return {"react": emoji}
        return None  # media and the like: the simulator cannot send them
    if message.type == "reaction":
        return {"expect_reaction": {"emoji": emoji} if emoji else {}}
    expectation: dict[str, Any] = {}
    if message.buttons:
        expectation["buttons"] = [b["title"] for b in message.buttons]
    elif message.rows:
        expectation["rows"] = [r["title"] for r in message.rows]
    elif message.template:
        expectation["template"] = {"name": message.template.get("name")}
    elif message.text.rstrip().endswith("?"):
        expectation["matches"] = r"\?"
    return {"expect_reply": expectation}


def to_yaml(scenario: dict[str, Any]) -> str:
    return yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=100)


def write_scenario(folder: Path, participant: Participant, scenario: dict[str, Any]) -> Path:
    """Write the scenario to a new file in `folder`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"recorded-{participant.phone_number}-{stamp}.yaml"
    path.write_text(to_yaml(scenario))
    return path


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
