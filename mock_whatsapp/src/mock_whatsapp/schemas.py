"""Schemas of what the mock's two APIs take and give, for its OpenAPI document.

The Graph API routes read their JSON themselves (so that every mistake is answered in
Meta's error shape by the checks in message_types.py); these models describe the bodies
for readers and client generators, they do not validate them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

# --- Graph API: requests -------------------------------------------------------------------


class Text(BaseModel):
    body: str = Field(max_length=4096)
    preview_url: bool = False


class ReplyButton(BaseModel):
    type: Literal["reply"]
    reply: dict[str, str] = Field(description="{id (≤256), title (≤20, unique)}")


class Interactive(BaseModel):
    type: Literal["button", "list", "cta_url"]
    header: dict[str, Any] | None = Field(
        default=None, description="text (≤60); buttons and cta_url also image/video/document"
    )
    body: dict[str, str] = Field(description="{text}: ≤1024 for buttons, ≤4096 for lists")
    footer: dict[str, str] | None = Field(default=None, description="{text ≤60}")
    action: dict[str, Any] = Field(
        description="buttons: {buttons: 1-3 ReplyButton}; list: {button ≤20, sections "
        "(≤10, ≤10 rows in all; row id ≤200, title ≤24, description ≤72)}; cta_url: "
        "{name: cta_url, parameters: {display_text ≤20, url}}"
    )


class MediaObject(BaseModel):
    id: str | None = Field(default=None, description="An uploaded media id (or link)")
    link: str | None = Field(default=None, description="An https URL (or id)")
    caption: str | None = Field(default=None, max_length=1024)
    filename: str | None = Field(default=None, description="documents only")


class TemplateSend(BaseModel):
    name: str
    language: dict[str, str] = Field(description="{code}, e.g. en")
    components: list[dict[str, Any]] = Field(
        default_factory=list,
        description="[{type: body, parameters: [{type: text, text}]}]: as many as the "
        "template's placeholders",
    )


class Reaction(BaseModel):
    message_id: str
    emoji: str = Field(description="Empty removes the reaction")


class Location(BaseModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Context(BaseModel):
    message_id: str = Field(description="The wamid this message replies to")


class SendMessageRequest(BaseModel):
    """A message to a phone: one object named by `type`. Or, with `status: read`, a read
    receipt for an inbound message (optionally with the typing indicator)."""

    model_config = ConfigDict(title="SendMessageRequest")

    messaging_product: Literal["whatsapp"]
    recipient_type: Literal["individual"] = "individual"
    to: str | None = Field(default=None, description="The phone, E.164 digits, + optional")
    recipient: str | None = Field(
        default=None, description="Instead of `to`: the user's business-scoped id (US.123…)"
    )
    type: Literal[
        "text",
        "interactive",
        "template",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "reaction",
        "location",
        "contacts",
    ] = "text"
    context: Context | None = None
    biz_opaque_callback_data: str | None = Field(default=None, max_length=512)
    text: Text | None = None
    interactive: Interactive | None = None
    template: TemplateSend | None = None
    image: MediaObject | None = None
    audio: MediaObject | None = None
    video: MediaObject | None = None
    document: MediaObject | None = None
    sticker: MediaObject | None = None
    reaction: Reaction | None = None
    location: Location | None = None
    contacts: list[dict[str, Any]] | None = None
    status: Literal["read"] | None = Field(default=None, description="Read receipt envelope")
    message_id: str | None = Field(default=None, description="Read receipt: inbound wamid")
    typing_indicator: dict[str, Literal["text"]] | None = None


class MediaUploadForm(BaseModel):
    model_config = ConfigDict(title="MediaUploadForm")

    messaging_product: Literal["whatsapp"]
    file: bytes = Field(json_schema_extra={"format": "binary"})
    type: str = Field(description="MIME type: image/jpeg, image/png, audio/mpeg, video/mp4, …")


# --- Graph API: answers ----------------------------------------------------------------------


class SentContact(BaseModel):
    input: str
    wa_id: str


class SentMessage(BaseModel):
    id: str = Field(description="wamid.…, at most 128 characters")
    message_status: Literal["accepted"]


class SendAnswer(BaseModel):
    """Accepted: statuses follow as webhooks (sent, delivered, read, or failed)."""

    messaging_product: Literal["whatsapp"]
    contacts: list[SentContact]
    messages: list[SentMessage]


class Success(BaseModel):
    success: bool


class MediaId(BaseModel):
    id: str


class MediaInfo(BaseModel):
    messaging_product: Literal["whatsapp"]
    url: str = Field(description="Download URL; needs the bearer token, expires")
    mime_type: str
    sha256: str
    file_size: int
    id: str


class GraphErrorDetail(BaseModel):
    message: str = Field(description='"(#<code>) <title>"')
    type: str
    code: int
    error_data: dict[str, str] | None = Field(
        default=None, description="{messaging_product, details}"
    )
    fbtrace_id: str


class GraphErrorBody(BaseModel):
    """Meta's error: build logic on `code` (190, 100, 130429, 131056, 131026, …)."""

    error: GraphErrorDetail


GRAPH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": GraphErrorBody, "description": "Meta's error (100, 130429, 131056, …)"},
    401: {"model": GraphErrorBody, "description": "190: bad access token"},
}

# --- control API --------------------------------------------------------------------------


class ControlErrorDetail(BaseModel):
    code: str
    message: str


class ControlErrorBody(BaseModel):
    error: ControlErrorDetail


CONTROL_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ControlErrorBody, "description": "Bad input; nothing changed"},
    404: {"model": ControlErrorBody, "description": "No such thing"},
}


class PhoneView(BaseModel):
    phone: str
    name: str
    messages: int
    received: int = Field(description="Messages the business sent to this phone")
    unread: int = Field(
        description="Of those, delivered and not read yet (POST .../read reads them)"
    )
    last_message_at: str | None = Field(description="When the chat last moved (ISO 8601, UTC)")
    online: bool
    blocked: bool
    on_whatsapp: bool
    auto_read: bool
    typing: bool = Field(description='The business shows "typing…" to this phone')


class ChatMessageView(BaseModel):
    """A message of a chat; type-specific details sit under the key named by `type`."""

    model_config = ConfigDict(extra="allow")

    id: str
    direction: Literal["inbound", "outbound"]
    type: str
    text: str
    timestamp: str
    status: Literal["accepted", "sent", "delivered", "read", "failed"] | None = None
    context_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    read_by_business: bool | None = Field(
        default=None, description="Inbound only: the business marked it read"
    )


class AttemptView(BaseModel):
    number: int
    at: str
    status_code: int | None
    latency_ms: float
    error: str | None
    signature: str
    response_body: str


class DeliveryView(BaseModel):
    id: int
    url: str
    subscriber_id: str
    state: Literal["pending", "delivered", "gave_up", "dropped"]
    payload: dict[str, Any]
    signature: str
    fault: str | None
    duplicate_of: int | None
    attempts: list[AttemptView]


class SubscriberView(BaseModel):
    id: str
    url: str
    verified: bool


class SubscriberList(BaseModel):
    subscribers: list[SubscriberView]


class SubscriberCreated(BaseModel):
    subscriber: SubscriberView


class ClockView(BaseModel):
    now: str
    offset_seconds: float


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request bodies the Graph routes read themselves."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title="mock_whatsapp",
        version=app.version,
        description="A fake WhatsApp Cloud API: Meta's Graph API for the business (under "
        "/v{N}.0/) and a control API for the phones, faults and webhooks (under /_mock/).",
        routes=app.routes,
    )
    _, defs = models_json_schema(
        [
            (SendMessageRequest, "validation"),
            (MediaUploadForm, "validation"),
            (ControlErrorBody, "serialization"),
            (GraphErrorBody, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    bodies = {
        ("/{version}/{phone_number_id}/messages", "post"): (
            "application/json",
            "SendMessageRequest",
        ),
        ("/{version}/{phone_number_id}/media", "post"): (
            "multipart/form-data",
            "MediaUploadForm",
        ),
    }
    for (path, method), (media_type, name) in bodies.items():
        operation = doc["paths"][path][method]
        operation["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    _document_refusals(doc)
    app.openapi_schema = doc
    return doc


def _document_refusals(doc: dict[str, Any]) -> None:
    """Every refusal the mock really answers, in its API's error shape: bad input is a 400
    (never FastAPI's 422), a thing named in the path may not exist (404), and a Graph
    path's version must look like v21.0 (any other is not a Graph route: 404)."""
    control = {"$ref": "#/components/schemas/ControlErrorBody"}
    graph = {"$ref": "#/components/schemas/GraphErrorBody"}
    for path, item in doc["paths"].items():
        is_graph = path.startswith(("/{version}", "/whatsapp_business"))
        body = graph if is_graph else control
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", _response("Bad input; nothing changed", body))
            params = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
            if params or is_graph:
                responses.setdefault("404", _response("No such thing", body))
            for param in params:
                if param["name"] == "version":
                    param["schema"] = {"type": "string", "pattern": r"^v[0-9]+\.[0-9]+$"}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
