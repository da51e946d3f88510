"""The phone side (control API): make a phone send, read its chat, name it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from promptpipe_service.storable import StorableInput
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from mock_whatsapp.answers import FastJSON
from mock_whatsapp.business import Business
from mock_whatsapp.chats import Phone, canonical_phone
from mock_whatsapp.graph_errors import ControlError
from mock_whatsapp.message_types import TEXT_MAX
from mock_whatsapp.schemas import CONTROL_ERRORS, ChatMessageView, PhoneView

router = APIRouter(prefix="/_mock/phones", tags=["phones"])


class ButtonReply(BaseModel):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)


class ListReply(BaseModel):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""


class Media(BaseModel):
    """A picture, voice note, video, document or sticker; the bytes are a stand-in that
    the bot can download through the Graph media endpoints."""

    caption: str = Field(default="", max_length=1024)
    filename: str | None = Field(default=None, max_length=240)


class TemplateButton(BaseModel):
    """A tap on a template's quick-reply button (Meta's `type: button` message)."""

    payload: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Unsupported(BaseModel):
    type: str = Field(default="poll", min_length=1, description="What the phone sent")


class Location(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None


class Reaction(BaseModel):
    message_id: str = Field(min_length=1)
    emoji: str


class ContactName(BaseModel):
    formatted_name: str = Field(min_length=1)


class Contact(BaseModel):
    name: ContactName
    phones: list[dict[str, str]] = Field(default_factory=list)


class PhoneMessage(StorableInput):
    """What the phone sends: text; a tap on a reply button, a list row or a template's
    quick-reply button; an image, voice note, video, document or sticker; a location, a
    reaction to a message, contact cards, or something the Cloud API does not support."""

    type: Literal[
        "text",
        "interactive",
        "button",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "reaction",
        "contacts",
        "unsupported",
    ] = "text"
    text: str | None = Field(default=None, min_length=1, max_length=TEXT_MAX)
    button_reply: ButtonReply | None = None
    list_reply: ListReply | None = None
    image: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    unsupported: Unsupported | None = None
    button: TemplateButton | None = None
    location: Location | None = None
    reaction: Reaction | None = None
    contacts: list[Contact] | None = None
    context_id: str | None = None
    # The business phone number id written to; empty: the default business number.
    to: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PhoneMessage:
        if self.type == "text" and not self.text:
            raise ValueError("text is required")
        if self.type == "interactive" and (self.button_reply is None) == (self.list_reply is None):
            raise ValueError("type interactive needs exactly one of button_reply and list_reply")
        if self.type not in ("text", "interactive") and getattr(self, self.type) is None:
            raise ValueError(f"{self.type} is required for type {self.type}")
        return self


class PhoneProfile(StorableInput):
    """A phone's name and what it can do; every field optional, unknown ones refused."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    online: StrictBool | None = None
    blocked: StrictBool | None = None
    on_whatsapp: StrictBool | None = None
    auto_read: StrictBool | None = None


class NewPhone(PhoneProfile):
    phone: str


def _number(raw: str) -> str:
    number = canonical_phone(raw)
    if number is None:
        raise ControlError(400, "invalid_phone", f"{raw!r} is not a phone number (6-15 digits)")
    return number


def _view(business: Business, p: Phone) -> dict[str, Any]:
    return {
        "phone": p.number,
        "name": p.name,
        "messages": len(p.messages),
        "received": sum(1 for m in p.messages if m.direction == "outbound"),
        # Delivered to the phone and not opened yet: what WhatsApp counts as unread.
        "unread": sum(
            1 for m in p.messages if m.direction == "outbound" and m.status == "delivered"
        ),
        "last_message_at": p.messages[-1].view()["timestamp"] if p.messages else None,
        **p.state.view(),
        "typing": business.typing(p.number),
    }


@router.get("", response_model=None, responses={200: {"model": list[PhoneView]}})
async def list_phones(request: Request) -> FastJSON:
    business: Business = request.app.state.business
    return FastJSON([_view(business, p) for p in business.chats.phones.values()])


async def _apply(business: Business, number: str, body: PhoneProfile) -> Phone:
    # Answered once the journal has the change (a PUT that fails can simply be repeated).
    async with business.journal.acknowledged():
        if body.name is not None:
            business.chats.rename(number, body.name)
        state = body.model_dump(exclude_none=True, exclude={"name", "phone"})
        before = business.chats.phone(number).state.view()
        phone = business.chats.set_state(number, **state) if state else business.chats.phone(number)
    after = phone.state.view()
    woke = (after["online"] and not before["online"]) or (
        after["auto_read"] and not before["auto_read"]
    )
    if woke:
        business.phone_state_changed(number)  # back online: delivered (and read) follow
    return phone


@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={201: {"model": PhoneView}, 409: CONTROL_ERRORS[400], **CONTROL_ERRORS},
)
async def create_phone(body: NewPhone, request: Request) -> dict[str, Any]:
    """A phone the business can write to (or not: on_whatsapp false, blocked)."""
    business: Business = request.app.state.business
    number = _number(body.phone)
    if number in business.chats.phones:
        raise ControlError(409, "exists", f"phone {number} exists; PUT changes it")
    return _view(business, await _apply(business, number, body))


@router.put(
    "/{phone}", response_model=None, responses={200: {"model": PhoneView}, **CONTROL_ERRORS}
)
async def set_profile(phone: str, body: PhoneProfile, request: Request) -> dict[str, Any]:
    """Name the phone, take it offline or back, block the business, stop reading."""
    business: Business = request.app.state.business
    return _view(business, await _apply(business, _number(phone), body))


@router.post("/{phone}/read")
async def phone_reads(phone: str, request: Request) -> dict[str, int]:
    """The phone opens the chat: every delivered message turns read."""
    business: Business = request.app.state.business
    return {"read": business.phone_reads(_number(phone))}


@router.post(
    "/{phone}/messages",
    status_code=201,
    response_model=None,
    responses={201: {"model": ChatMessageView}, **CONTROL_ERRORS},
)
async def phone_sends(phone: str, body: PhoneMessage, request: Request) -> FastJSON:
    return await phone_sends_checked(request.app.state.business, phone, body)


async def phone_sends_checked(business: Business, phone: str, body: PhoneMessage) -> FastJSON:
    """The phone's message once its body is valid (hot_routes.py calls this too)."""
    data = body.model_dump(exclude_none=True)
    number = _number(phone)
    state = business.chats.phone(number).state
    if not state.on_whatsapp:
        raise ControlError(409, "not_on_whatsapp", f"phone {number} is not on WhatsApp")
    if not state.online:
        raise ControlError(409, "offline", f"phone {number} is offline; bring it back first")
    if body.to and body.to not in business.numbers:
        raise ControlError(404, "unknown_business_number", f"no business number {body.to!r}")
    message = await business.phone_sends(number, data)
    return FastJSON(message.view(), status_code=201)


@router.get(
    "/{phone}/messages",
    response_model=None,
    responses={200: {"model": list[ChatMessageView]}, **CONTROL_ERRORS},
)
async def chat(phone: str, request: Request) -> FastJSON:
    # Read many times a second by the simulator and the load driver: orjson, not
    # FastAPI's generic encoding.
    business: Business = request.app.state.business
    number = _number(phone)
    found = business.chats.phones.get(number)
    return FastJSON([m.view() for m in found.messages] if found else [])
