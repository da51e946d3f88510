"""What a business may send, checked as strictly as Meta checks it: each function takes
the /messages request body and returns the text the phone shows and the type's details,
or raises Meta's error."""

from __future__ import annotations

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
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


def _text_field(value: Any, name: str, maximum: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise invalid_parameter(f"{name} is required")
    if len(value) > maximum:
        raise invalid_parameter(f"{name} must be at most {maximum} characters")
    return value


def text(payload: dict[str, Any]) -> tuple[str, None]:
    body = payload.get("text")
    if not isinstance(body, dict):
        raise invalid_parameter("text.body is required for type text")
    return _text_field(body.get("body"), "text.body", TEXT_MAX), None


def interactive(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    inter = payload.get("interactive")
    if not isinstance(inter, dict) or inter.get("type") not in ("button", "list"):
        raise invalid_parameter('interactive.type must be "button" or "list"')
    if inter["type"] == "list":
        return _list(inter)
    body = _text_field(
        (inter.get("body") or {}).get("text"), "interactive.body.text", BUTTON_BODY_MAX
    )
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
    return body, {"type": "button", "buttons": replies}


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


def reaction(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    obj = payload.get("reaction")
    if not isinstance(obj, dict) or not obj.get("message_id") or "emoji" not in obj:
        raise invalid_parameter("reaction needs message_id and emoji (empty to remove)")
    return str(obj["emoji"]), {"message_id": obj["message_id"], "emoji": obj["emoji"]}
