"""Turn a participant's chat into a scenario: what they sent, and loose expectations of
what the coach answered, so a session played by hand becomes a repeatable test."""

from __future__ import annotations

from typing import Any

import yaml

from promptpipe_simulator.core.clients import ChatMessage, Participant


def scenario_from_chat(participant: Participant, chat: list[ChatMessage]) -> dict[str, Any]:
    """A scenario dict that replays the participant's side and checks the coach's loosely:
    buttons or rows when offered, a question when it asked one, else just "a reply"."""
    steps: list[dict[str, Any]] = []
    for message in chat:
        if message.direction == "inbound":
            if message.type == "interactive":
                steps.append({"tap": message.text})
            elif message.type == "text":
                steps.append({"send": message.text})
            continue
        expectation: dict[str, Any] = {}
        if message.buttons:
            expectation["buttons"] = [b["title"] for b in message.buttons]
        elif message.rows:
            expectation["rows"] = [r["title"] for r in message.rows]
        elif message.template:
            expectation["template"] = {"name": message.template.get("name")}
        elif message.text.rstrip().endswith("?"):
            expectation["matches"] = r"\?"
        steps.append({"expect_reply": expectation})
    return {
        "name": f"Recorded with {participant.name or participant.phone_number}",
        "description": "Recorded in the simulator; the coach's side is checked loosely.",
        "participants": {"participant": {"timezone": participant.timezone or "UTC"}},
        "steps": steps,
    }


def to_yaml(scenario: dict[str, Any]) -> str:
    return yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=100)
