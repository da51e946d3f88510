"""Approved message templates: the only messages a business may send outside the 24-hour
customer-service window. A small built-in registry, or a JSON file (MOCK_WA_TEMPLATES_FILE)
mapping name → {"language": "en", "body": "Hi {{1}}, ...", "header"?: "text {{1}}" or
{"format": "image"|"video"|"document"}, "buttons"?: [{"type": "url", "url": "https://…/{{1}}"}
or {"type": "quick_reply", "text": "Yes"}]}."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_whatsapp.graph_errors import GraphError, invalid_parameter

PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
MEDIA_HEADERS = ("image", "video", "document")

BUILT_IN: dict[str, dict[str, Any]] = {
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


def placeholders(text: str) -> int:
    return len(set(PLACEHOLDER.findall(text)))


def fill(text: str, parameters: list[str]) -> str:
    return PLACEHOLDER.sub(lambda m: parameters[int(m.group(1)) - 1], text)


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str
    # A text header (with placeholders), a media format (image, video, document), or "".
    header: str = ""
    header_format: str = "text"
    buttons: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @property
    def parameter_count(self) -> int:
        return placeholders(self.body)

    def render(self, parameters: list[str]) -> str:
        return fill(self.body, parameters)


def load(path: str | None) -> dict[str, Template]:
    source: dict[str, Any] = json.loads(Path(path).read_text()) if path else BUILT_IN
    registry = {}
    for name, t in source.items():
        header = t.get("header", "")
        media = header.get("format", "") if isinstance(header, dict) else ""
        registry[name] = Template(
            name,
            t["language"],
            t["body"],
            header="" if media else header,
            header_format=media or "text",
            buttons=tuple(t.get("buttons", ())),
        )
    return registry


def _mismatch(where: str, expected: int, got: int) -> GraphError:
    return GraphError(
        400,
        132000,
        "Number of parameters does not match the expected number of params",
        f"{where}: expected {expected}, got {got}",
    )


def _texts(component: dict[str, Any]) -> list[str]:
    return [str(p.get("text", "")) for p in component.get("parameters") or []]


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
    components = spec.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise invalid_parameter("template.components must be a list of objects")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind not in ("header", "body", "button"):
            raise invalid_parameter(f"unknown template component type {kind!r}")
        by_type.setdefault(kind, []).append(component)

    parameters = [t for c in by_type.get("body", []) for t in _texts(c)]
    if len(parameters) != template.parameter_count:
        raise _mismatch("body", template.parameter_count, len(parameters))
    details: dict[str, Any] = {
        "name": template.name,
        "language": language,
        "parameters": parameters,
    }
    header = _header(template, by_type.get("header", []))
    if header is not None:
        details["header"] = header
    buttons = _buttons(template, by_type.get("button", []))
    if buttons:
        details["buttons"] = buttons
    return template.render(parameters), details


def _header(template: Template, components: list[dict[str, Any]]) -> Any:
    """The header as sent: its text filled in, or the media object given for it."""
    if template.header_format in MEDIA_HEADERS:
        params = [p for c in components for p in c.get("parameters") or []]
        media = params[0].get(template.header_format) if len(params) == 1 else None
        if not isinstance(media, dict) or ("id" in media) == ("link" in media):
            raise GraphError(
                400,
                132012,
                "Parameter format does not match format in the created template",
                f"header: expected one {template.header_format} parameter with an id or link",
            )
        return {template.header_format: media}
    expected = placeholders(template.header)
    texts = [t for c in components for t in _texts(c)]
    if len(texts) != expected:
        raise _mismatch("header", expected, len(texts))
    return fill(template.header, texts) if template.header else None


def _buttons(template: Template, components: list[dict[str, Any]]) -> list[dict[str, str]]:
    """URL buttons with a placeholder need their parameter, by index; others need none."""
    given = {}
    for component in components:
        index = str(component.get("index", ""))
        if not index.isdigit() or int(index) >= len(template.buttons):
            raise invalid_parameter(f"button index {index!r} does not exist in the template")
        given[int(index)] = component
    out = []
    for i, button in enumerate(template.buttons):
        if button.get("type") == "url":
            expected = placeholders(button["url"])
            texts = _texts(given[i]) if i in given else []
            if len(texts) != expected:
                raise _mismatch(f"button {i}", expected, len(texts))
            out.append({"type": "url", "url": fill(button["url"], texts)})
        else:
            out.append({"type": "quick_reply", "text": button.get("text", "")})
    return out
