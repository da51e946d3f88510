"""Approved message templates: the only messages a business may send outside the 24-hour
customer-service window. A small built-in registry, or a JSON file (MOCK_WA_TEMPLATES_FILE)
mapping name → {"language": "en", "body": "Hi {{1}}, ..."}."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_whatsapp.graph_errors import GraphError, invalid_parameter

PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")

BUILT_IN = {
    "habit_checkin": {
        "language": "en",
        "body": "Hi! It's been a while since we talked. Reply anytime to pick up your habit "
        "coaching where you left off.",
    },
    "daily_prompt_reminder": {
        "language": "en",
        "body": "Hi {{1}}, your daily habit is waiting: {{2}}. Reply to let me know how it goes.",
    },
}


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str

    @property
    def parameter_count(self) -> int:
        return len(set(PLACEHOLDER.findall(self.body)))

    def render(self, parameters: list[str]) -> str:
        return PLACEHOLDER.sub(lambda m: parameters[int(m.group(1)) - 1], self.body)


def load(path: str | None) -> dict[str, Template]:
    source: dict[str, Any] = json.loads(Path(path).read_text()) if path else BUILT_IN
    return {name: Template(name, t["language"], t["body"]) for name, t in source.items()}


def render_send(
    registry: dict[str, Template], payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Check a template send as Meta does; return the text the phone shows and its details."""
    spec = payload.get("template")
    if not isinstance(spec, dict) or not spec.get("name"):
        raise invalid_parameter("template.name is required for type template")
    language = (spec.get("language") or {}).get("code")
    template = registry.get(spec["name"])
    if template is None or template.language != language:
        raise GraphError(
            404,
            132001,
            "Template name does not exist in the translation",
            f"template name ({spec['name']}) does not exist in {language}",
        )
    parameters = [
        str(p.get("text", ""))
        for component in spec.get("components") or []
        if component.get("type") == "body"
        for p in component.get("parameters") or []
    ]
    if len(parameters) != template.parameter_count:
        raise GraphError(
            400,
            132000,
            "Number of parameters does not match the expected number of params",
            f"body: expected {template.parameter_count}, got {len(parameters)}",
        )
    details = {"name": template.name, "language": language, "parameters": parameters}
    return template.render(parameters), details
