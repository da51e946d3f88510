"""Message templates as Meta keeps them (name, language, category, review status and
components) and the check of a template send against one.

Templates are the only messages a business may send outside the 24-hour customer-service
window, and only once Meta's review approved them. Every WhatsApp Business Account the
mock serves starts with Meta's sample `hello_world` (en_US) and the stack's own templates
(built in, or a JSON file, MOCK_WA_TEMPLATES_FILE, mapping name → {"language": "en",
"body": "Hi {{1}}, ...", "category"?: "UTILITY", "header"?: "text {{1}}" or {"format":
"image"|"video"|"document"}, "footer"?: "...", "buttons"?: [{"type": "url", "url":
"https://…/{{1}}"} or {"type": "quick_reply", "text": "Yes"}]}), all approved; more are
created through the Graph API (template_submission.py) and reviewed (template_review.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mock_whatsapp.graph_errors import GraphError, invalid_parameter

PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
MEDIA_HEADERS = ("image", "video", "document")
CATEGORIES = ("AUTHENTICATION", "MARKETING", "UTILITY")
# Meta's review outcomes and later changes a template can go through.
STATUSES = ("PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")
# The statuses a send may use: anything else is refused (see `refusal`).
SENDABLE = ("APPROVED",)

# Meta's sample template, in every new WhatsApp Business Account (header, body and footer
# as Meta words them).
HELLO_WORLD: dict[str, Any] = {
    "language": "en_US",
    "category": "UTILITY",
    "header": "Hello World",
    "body": "Welcome and congratulations!! This message demonstrates your ability to send a "
    "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking "
    "the time to test with us.",
    "footer": "WhatsApp Business Platform sample message",
}

# The stack's own templates: delivery's re-engagement fallback and the daily reminder.
BUILT_IN: dict[str, dict[str, Any]] = {
    "habit_checkin": {
        "language": "en",
        "category": "UTILITY",
        "body": "Hi! It's been a while since we talked. Reply anytime to pick up your habit "
        "coaching where you left off.",
    },
    "daily_prompt_reminder": {
        "language": "en",
        "category": "UTILITY",
        "body": "Hi {{1}}, your daily habit is waiting: {{2}}. Reply to let me know how it goes.",
    },
}


def placeholders(text: str) -> int:
    return len(set(PLACEHOLDER.findall(text)))


def fill(text: str, parameters: list[str]) -> str:
    return PLACEHOLDER.sub(lambda m: parameters[int(m.group(1)) - 1], text)


def template_id(waba_id: str, name: str, language: str) -> str:
    """A stable numeric id for a configured template, like Meta's (15-16 digits), so that
    a restart gives hello_world the same id it had."""
    digest = hashlib.sha256(f"{waba_id}:{name}:{language}".encode()).digest()
    return str(10**15 + int.from_bytes(digest[:8], "big") % (9 * 10**15))


@dataclass
class MessageTemplate:
    """One template of one WhatsApp Business Account, in Meta's words: components are
    HEADER, BODY, FOOTER and BUTTONS objects as the Graph API lists them."""

    id: str
    waba_id: str
    name: str
    language: str
    category: str
    status: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    rejected_reason: str = "NONE"
    # When it was created, in the mock's time (ISO 8601): its review is due a while later.
    created_at: str = ""
    # Seeded from the configuration rather than created through the API.
    configured: bool = False
    # Review paused by the control API: no automatic decision while PENDING.
    on_hold: bool = False

    def component(self, kind: str) -> dict[str, Any]:
        return next((c for c in self.components if c.get("type") == kind), {})

    @property
    def body(self) -> str:
        return str(self.component("BODY").get("text", ""))

    @property
    def header_format(self) -> str:
        """text, image, video or document (text also when there is no header)."""
        return str(self.component("HEADER").get("format", "TEXT")).lower()

    @property
    def header(self) -> str:
        header = self.component("HEADER")
        return str(header.get("text", "")) if self.header_format == "text" else ""

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return list(self.component("BUTTONS").get("buttons") or [])

    def data(self) -> dict[str, Any]:
        """Everything, for the store."""
        return asdict(self)

    def view(self, fields: list[str] | None = None) -> dict[str, Any]:
        """The template as GET /{waba_id}/message_templates lists it; `fields` picks some
        (the id always comes, as on Meta)."""
        full: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "rejected_reason": self.rejected_reason,
            "id": self.id,
        }
        if fields is None:
            return {k: v for k, v in full.items() if k != "rejected_reason"}
        return {k: v for k, v in full.items() if k in fields or k == "id"}

    def summary(self) -> dict[str, Any]:
        """What the control API and the inspectors show of it."""
        return {
            "id": self.id,
            "waba_id": self.waba_id,
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "status": self.status,
            "rejected_reason": self.rejected_reason,
            "on_hold": self.on_hold,
            "created_at": self.created_at,
            "body": self.body,
        }


def components_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Meta components from the short form of TEMPLATES_FILE (body, header, footer,
    buttons)."""
    out: list[dict[str, Any]] = []
    header = spec.get("header")
    if isinstance(header, dict):
        out.append({"type": "HEADER", "format": str(header.get("format", "")).upper()})
    elif header:
        out.append({"type": "HEADER", "format": "TEXT", "text": header})
    out.append({"type": "BODY", "text": spec["body"]})
    if spec.get("footer"):
        out.append({"type": "FOOTER", "text": spec["footer"]})
    buttons = []
    for button in spec.get("buttons") or []:
        if button.get("type") == "url":
            text = button.get("text", "Open")
            buttons.append({"type": "URL", "text": text, "url": button["url"]})
        else:
            buttons.append({"type": "QUICK_REPLY", "text": button.get("text", "")})
    if buttons:
        out.append({"type": "BUTTONS", "buttons": buttons})
    return out


def configured(path: str | None, waba_ids: list[str]) -> list[MessageTemplate]:
    """The approved templates every WABA starts with: hello_world, then the built-in ones
    or those of the file (which may redefine hello_world)."""
    source: dict[str, Any] = json.loads(Path(path).read_text()) if path else BUILT_IN
    specs = {"hello_world": HELLO_WORLD, **source}
    return [
        MessageTemplate(
            id=template_id(waba, name, spec["language"]),
            waba_id=waba,
            name=name,
            language=spec["language"],
            category=str(spec.get("category", "UTILITY")).upper(),
            status="APPROVED",
            components=components_of(spec),
            configured=True,
        )
        for waba in dict.fromkeys(waba_ids)
        for name, spec in specs.items()
    ]


# --- sending one -------------------------------------------------------------------------


def not_found(name: str, language: str | None) -> GraphError:
    return GraphError(
        404,
        132001,
        "Template name does not exist in the translation",
        f"template name ({name}) does not exist in {language}",
    )


def refusal(template: MessageTemplate) -> GraphError | None:
    """Meta's answer to a send of a template that is not approved: 132015 while paused,
    132016 once disabled, and for one still in review or rejected the same 132001 as for
    an unknown one (Meta: "does not exist in the specified language or the template has
    not been approved")."""
    if template.status in SENDABLE:
        return None
    if template.status == "PAUSED":
        return GraphError.of(
            132015, f"template {template.name} ({template.language}) is paused: low quality"
        )
    if template.status == "DISABLED":
        return GraphError.of(
            132016, f"template {template.name} ({template.language}) is disabled: low quality"
        )
    return GraphError(
        404,
        132001,
        "Template name does not exist in the translation",
        f"template name ({template.name}) does not exist in {template.language} or has "
        f"not been approved (status {template.status})",
    )


def requested(payload: dict[str, Any]) -> tuple[str, str | None]:
    """The name and language code a template send asks for."""
    spec = payload.get("template")
    if not isinstance(spec, dict) or not spec.get("name"):
        raise invalid_parameter("template.name is required for type template")
    language = spec.get("language")
    return str(spec["name"]), language.get("code") if isinstance(language, dict) else None


def _mismatch(where: str, expected: int, got: int) -> GraphError:
    return GraphError(
        400,
        132000,
        "Number of parameters does not match the expected number of params",
        f"{where}: expected {expected}, got {got}",
    )


def _texts(component: dict[str, Any]) -> list[str]:
    return [str(p.get("text", "")) for p in component.get("parameters") or []]


def render_send(template: MessageTemplate, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check a template send's parameters as Meta does; return the text the phone shows
    and its details (with the category, which prices the message)."""
    components = payload["template"].get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise invalid_parameter("template.components must be a list of objects")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind not in ("header", "body", "button"):
            raise invalid_parameter(f"unknown template component type {kind!r}")
        by_type.setdefault(kind, []).append(component)

    parameters = [t for c in by_type.get("body", []) for t in _texts(c)]
    expected = placeholders(template.body)
    if len(parameters) != expected:
        raise _mismatch("body", expected, len(parameters))
    details: dict[str, Any] = {
        "name": template.name,
        "language": template.language,
        "category": template.category.lower(),
        "parameters": parameters,
    }
    header = _header(template, by_type.get("header", []))
    if header is not None:
        details["header"] = header
    buttons = _buttons(template, by_type.get("button", []))
    if buttons:
        details["buttons"] = buttons
    footer = template.component("FOOTER").get("text")
    if footer:
        details["footer"] = footer
    return fill(template.body, parameters), details


def _header(template: MessageTemplate, components: list[dict[str, Any]]) -> Any:
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


def _buttons(template: MessageTemplate, components: list[dict[str, Any]]) -> list[dict[str, str]]:
    """URL buttons with a placeholder need their parameter, by index; others need none."""
    buttons = template.buttons
    given = {}
    for component in components:
        index = str(component.get("index", ""))
        if not index.isdigit() or int(index) >= len(buttons):
            raise invalid_parameter(f"button index {index!r} does not exist in the template")
        given[int(index)] = component
    out = []
    for i, button in enumerate(buttons):
        kind = str(button.get("type", "")).upper()
        if kind == "URL":
            expected = placeholders(str(button.get("url", "")))
            texts = _texts(given[i]) if i in given else []
            if len(texts) != expected:
                raise _mismatch(f"button {i}", expected, len(texts))
            out.append({"type": "url", "url": fill(str(button["url"]), texts)})
        elif kind == "QUICK_REPLY":
            reply = {"type": "quick_reply", "text": str(button.get("text", ""))}
            # The payload a tap sends back, when the send gave one (else Meta uses the text).
            payloads = [p.get("payload") for p in (given.get(i) or {}).get("parameters") or []]
            if payloads and payloads[0]:
                reply["payload"] = str(payloads[0])
            out.append(reply)
        else:
            out.append({"type": kind.lower(), "text": str(button.get("text", ""))})
    return out
