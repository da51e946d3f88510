"""What a business may send, checked as strictly as Meta checks it: each function takes
the /messages request body and returns the text the phone shows and the type's details,
or raises Meta's error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_whatsapp.graph_errors import invalid_parameter

TEXT_MAX = 4096
BUTTON_BODY_MAX = 1024
BUTTON_TITLE_MAX = 20
LIST_HEADER_MAX = 60
LIST_FOOTER_MAX = 60
LIST_BUTTON_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_MAX = 10  # in all sections together
ROW_ID_MAX = 200
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
CAPTION_MAX = 1024
BUTTON_HEADER_MAX = 60
BUTTON_FOOTER_MAX = 60
CTA_DISPLAY_TEXT_MAX = 20
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


def _text_field(value: Any, name: str, maximum: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise invalid_parameter(f"{name} is required")
    if len(value) > maximum:
        raise invalid_parameter(f"{name} must be at most {maximum} characters")
    return value


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise invalid_parameter(f"{name} must be an object")
    return value


def context(payload: dict[str, Any]) -> str | None:
    """The wamid a message replies to (`context.message_id`), if it quotes one."""
    if "context" not in payload:
        return None
    ctx = _object(payload, "context")
    return _text_field(ctx.get("message_id"), "context.message_id", 128)


def text(payload: dict[str, Any], kind: str = "text") -> tuple[str, dict[str, Any] | None]:
    body = payload.get("text")
    if not isinstance(body, dict):
        raise invalid_parameter("text.body is required for type text")
    preview = body.get("preview_url", False)
    if not isinstance(preview, bool):
        raise invalid_parameter("text.preview_url must be a boolean")
    value = _text_field(body.get("body"), "text.body", TEXT_MAX)
    return value, ({"preview_url": True} if preview else None)


def interactive(payload: dict[str, Any], kind: str = "interactive") -> tuple[str, dict[str, Any]]:
    inter = payload.get("interactive")
    if not isinstance(inter, dict) or inter.get("type") not in ("button", "list", "cta_url"):
        raise invalid_parameter('interactive.type must be "button", "list" or "cta_url"')
    if inter["type"] == "list":
        return _list(inter)
    body = _text_field(
        (inter.get("body") or {}).get("text"), "interactive.body.text", BUTTON_BODY_MAX
    )
    header = _button_header(inter.get("header"))
    footer = _text_field(
        (inter.get("footer") or {}).get("text"),
        "interactive.footer.text",
        BUTTON_FOOTER_MAX,
        required=False,
    )
    if inter["type"] == "cta_url":
        return body, {"type": "cta_url", "header": header, "footer": footer, **_cta(inter)}
    buttons = (inter.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise invalid_parameter("interactive.action.buttons must have 1 to 3 buttons")
    replies = []
    for b in buttons:
        reply = b.get("reply") if isinstance(b, dict) else None
        if not isinstance(b, dict) or b.get("type") != "reply" or not isinstance(reply, dict):
            raise invalid_parameter("each button must be {type: reply, reply: {id, title}}")
        title = _text_field(reply.get("title"), "button title", BUTTON_TITLE_MAX)
        replies.append({"id": _text_field(reply.get("id"), "button id", 256), "title": title})
    _unique(replies, "button")
    return body, {"type": "button", "header": header, "footer": footer, "buttons": replies}


def _button_header(header: Any) -> Any:
    """A reply-button or CTA header: text (up to 60), or an image, video or document."""
    if header is None:
        return None
    if not isinstance(header, dict) or header.get("type") not in (
        "text",
        "image",
        "video",
        "document",
    ):
        raise invalid_parameter(
            'interactive.header.type must be "text", "image", "video" or "document"'
        )
    if header["type"] == "text":
        return _text_field(header.get("text"), "interactive.header.text", BUTTON_HEADER_MAX)
    _, media_object = media(header, header["type"])
    return {header["type"]: media_object}


def _cta(inter: dict[str, Any]) -> dict[str, str]:
    action = inter.get("action") or {}
    params = action.get("parameters") if isinstance(action, dict) else None
    if action.get("name") != "cta_url" or not isinstance(params, dict):
        raise invalid_parameter('a cta_url message needs action {name: "cta_url", parameters}')
    url = _text_field(params.get("url"), "action.parameters.url", 2000)
    if not url.startswith(("http://", "https://")):
        raise invalid_parameter("action.parameters.url must be an http(s) URL")
    label = _text_field(params.get("display_text"), "display_text", CTA_DISPLAY_TEXT_MAX)
    return {"display_text": label, "url": url}


def _list(inter: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    header = inter.get("header")
    if header is not None and (not isinstance(header, dict) or header.get("type") != "text"):
        raise invalid_parameter("a list's header can only be text")
    header_text = _text_field(
        (header or {}).get("text"),
        "interactive.header.text",
        LIST_HEADER_MAX,
        required=header is not None,
    )
    body = _text_field((inter.get("body") or {}).get("text"), "interactive.body.text", TEXT_MAX)
    footer = _text_field(
        (inter.get("footer") or {}).get("text"),
        "interactive.footer.text",
        LIST_FOOTER_MAX,
        required=False,
    )
    action = inter.get("action") or {}
    button = _text_field(action.get("button"), "interactive.action.button", LIST_BUTTON_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        raise invalid_parameter(f"a list needs 1 to {LIST_SECTIONS_MAX} sections")
    out_sections, rows_seen = [], []
    for section in sections:
        rows = section.get("rows") if isinstance(section, dict) else None
        if not isinstance(rows, list) or not rows:
            raise invalid_parameter("each section needs rows")
        out_rows = []
        for row in rows:
            if not isinstance(row, dict):
                raise invalid_parameter("each row must be {id, title, description?}")
            out_rows.append(
                {
                    "id": _text_field(row.get("id"), "row id", ROW_ID_MAX),
                    "title": _text_field(row.get("title"), "row title", ROW_TITLE_MAX),
                    "description": _text_field(
                        row.get("description"),
                        "row description",
                        ROW_DESCRIPTION_MAX,
                        required=False,
                    ),
                }
            )
        rows_seen += out_rows
        title = _text_field(
            section.get("title"), "section title", ROW_TITLE_MAX, required=len(sections) > 1
        )
        out_sections.append({"title": title, "rows": out_rows})
    if len(rows_seen) > LIST_ROWS_MAX:
        raise invalid_parameter(f"a list can have at most {LIST_ROWS_MAX} rows in all")
    if len({r["id"] for r in rows_seen}) != len(rows_seen):
        raise invalid_parameter("row ids must be unique")
    details = {
        "type": "list",
        "header": header_text,
        "footer": footer,
        "button": button,
        "sections": out_sections,
    }
    return body, details


def _unique(items: list[dict[str, str]], what: str) -> None:
    if len({i["id"] for i in items}) != len(items) or len({i["title"] for i in items}) != len(
        items
    ):
        raise invalid_parameter(f"{what} ids and titles must be unique")


def media(payload: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """An image, audio, video, document or sticker, by uploaded id or by https link."""
    obj = payload.get(kind)
    if not isinstance(obj, dict) or (("id" in obj) == ("link" in obj)):
        raise invalid_parameter(f"{kind} needs exactly one of id and link")
    if "link" in obj and not str(obj["link"]).startswith("https://"):
        raise invalid_parameter(f"{kind}.link must be an https URL")
    caption = _text_field(obj.get("caption"), f"{kind}.caption", CAPTION_MAX, required=False)
    if caption and kind in ("audio", "sticker"):
        raise invalid_parameter(f"{kind} messages cannot have a caption")
    details = {k: obj[k] for k in ("id", "link", "caption", "filename") if k in obj}
    return caption or f"[{kind}]", details


def reaction(payload: dict[str, Any], kind: str = "reaction") -> tuple[str, dict[str, Any]]:
    obj = payload.get("reaction")
    if not isinstance(obj, dict) or not obj.get("message_id") or "emoji" not in obj:
        raise invalid_parameter("reaction needs message_id and emoji (empty to remove)")
    if not isinstance(obj["emoji"], str):
        raise invalid_parameter("reaction.emoji must be a string")
    return str(obj["emoji"]), {"message_id": obj["message_id"], "emoji": obj["emoji"]}


def location(payload: dict[str, Any], kind: str = "location") -> tuple[str, dict[str, Any]]:
    obj = _object(payload, "location")
    coordinates: dict[str, float] = {}
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = obj.get(name)
        if isinstance(value, str):  # Meta takes numbers as strings too
            try:
                value = float(value)
            except ValueError:
                value = None
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > bound:
            raise invalid_parameter(f"location.{name} must be a number within ±{bound}")
        coordinates[name] = float(value)
    details: dict[str, Any] = {**coordinates}
    details.update((k, str(obj[k])) for k in ("name", "address") if k in obj)
    label = f" {details['name']}" if "name" in details else ""
    return f"[location {coordinates['latitude']},{coordinates['longitude']}{label}]", details


def contacts(payload: dict[str, Any], kind: str = "contacts") -> tuple[str, dict[str, Any]]:
    cards = payload.get("contacts")
    if not isinstance(cards, list) or not cards:
        raise invalid_parameter("contacts must be a non-empty list")
    names = []
    for card in cards:
        name = card.get("name") if isinstance(card, dict) else None
        if not isinstance(name, dict):
            raise invalid_parameter("each contact needs name.formatted_name")
        names.append(_text_field(name.get("formatted_name"), "name.formatted_name", 1024))
    return "[contact " + ", ".join(names) + "]", {"cards": cards}


# Every free-form type: (request body, type) → (text the phone shows, details).
Check = Callable[[dict[str, Any], str], tuple[str, Any]]
CHECKS: dict[str, Check] = {
    "text": text,
    "interactive": interactive,
    "reaction": reaction,
    "location": location,
    "contacts": contacts,
}
CHECKS.update((kind, media) for kind in MEDIA_TYPES)
