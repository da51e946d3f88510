"""The business side, as Meta's Graph API: messages and media under /v{N}.0/."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from mock_whatsapp import system_errors
from mock_whatsapp.answers import FastJSON
from mock_whatsapp.business import Business
from mock_whatsapp.faults import Fault
from mock_whatsapp.graph_errors import GraphError, invalid_parameter
from mock_whatsapp.media import Media, kind_of
from mock_whatsapp.schemas import GRAPH_ERRORS, MediaId, MediaInfo, SendAnswer, Success
from mock_whatsapp.settings import BusinessNumber


class GraphVersion(Convertor[str]):
    """A Graph API version segment such as v21.0; only these paths are Graph routes, so
    the catch-all /{version}/{id} cannot shadow the mock's other pages."""

    regex = r"v\d+\.\d+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_version", GraphVersion())

router = APIRouter(tags=["graph api"])


def _business(request: Request) -> Business:
    business: Business = request.app.state.business
    return business


def _token(authorization: str) -> str:
    return authorization.removeprefix("Bearer ").strip()


def _authorized(business: Business, authorization: str) -> list[BusinessNumber]:
    """The business numbers the bearer token may use; Meta's 190 when it is none."""
    token = _token(authorization).encode()
    allowed = [
        n for n in business.numbers.values() if hmac.compare_digest(token, n.access_token.encode())
    ]
    if not allowed:
        raise GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")
    return allowed


def _unknown_object(object_id: str) -> GraphError:
    return GraphError(
        400,
        100,
        "Unsupported post request",
        f"Object with ID '{object_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation",
        "GraphMethodException",
    )


def _number(business: Business, authorization: str, phone_number_id: str) -> BusinessNumber:
    for number in _authorized(business, authorization):
        if number.phone_number_id == phone_number_id:
            return number
    raise _unknown_object(phone_number_id)


async def _faults(business: Business, target: str) -> Fault | None:
    """Injected faults: added latency, then the first error that strikes; one reported
    by webhook instead is returned for the caller to report."""
    fired = business.faults.fire(target)
    latency = sum(f.latency_ms for f in fired)
    if latency:
        await asyncio.sleep(latency / 1000)
    for fault in fired:
        if fault.error_code is not None and fault.report == "webhook":
            return fault
        if fault.error_code is not None:
            raise GraphError.of(fault.error_code, f"injected fault {fault.id}")
    return None


@router.post(
    "/{version:graph_version}/{phone_number_id}/messages",
    response_model=None,
    responses={
        200: {"model": SendAnswer, "description": "Accepted (a read receipt: {success: true})"},
        **GRAPH_ERRORS,
    },
)
async def send_message(
    version: str,
    phone_number_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
    idempotency_key: Annotated[str | None, Header()] = None,
) -> FastJSON:
    """Send a message (text, interactive, template, media, reaction, location, contacts)
    or mark one read; Meta's answer or Meta's error."""
    return await send_parsed(request, phone_number_id, authorization, idempotency_key, None)


async def send_parsed(
    request: Request,
    phone_number_id: str,
    authorization: str,
    idempotency_key: str | None,
    payload: dict[str, Any] | None,
) -> FastJSON:
    """`send_message`, with the body already parsed when `payload` is given (hot_routes.py
    parses it before the checks, which come first all the same)."""
    business = _business(request)
    number = _number(business, authorization, phone_number_id)
    reported_later = await _faults(business, "messages")
    if payload is None:
        try:
            payload = await request.json()
        except ValueError as exc:
            raise invalid_parameter("request body must be JSON") from exc
        if not isinstance(payload, dict):
            raise invalid_parameter("request body must be a JSON object")
    if reported_later is not None and reported_later.error_code is not None:
        answer, webhook = system_errors.accepted_then_failed(
            number, payload, reported_later.error_code, reported_later.id
        )
        await business.webhooks.send_acknowledged(webhook)
        return FastJSON(answer)
    return FastJSON(await business.send(number, payload, idempotency_key))


@router.post(
    "/{version:graph_version}/{phone_number_id}/media",
    response_model=None,
    responses={200: {"model": MediaId}, **GRAPH_ERRORS},
)
async def upload_media(
    version: str,
    phone_number_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
) -> dict[str, str]:
    """Upload a file (multipart: messaging_product, file, type) → {"id"}."""
    business = _business(request)
    number = _number(business, authorization, phone_number_id)
    await _faults(business, "media")
    try:
        form = await request.form()
    except Exception as exc:  # a body that is not multipart at all
        raise invalid_parameter("the body must be multipart/form-data") from exc
    try:  # closing the form deletes the spooled upload files
        if form.get("messaging_product") != "whatsapp":
            raise invalid_parameter('messaging_product must be "whatsapp"')
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise invalid_parameter("file is required")
        mime_type = str(form.get("type") or upload.content_type or "")
        if kind_of(mime_type) is None:
            raise invalid_parameter(f"type {mime_type!r} is not a media type WhatsApp supports")
        content = await upload.read()
        filename = upload.filename or ""
    finally:
        await form.close()
    media = await business.media.upload(number.phone_number_id, mime_type, content, filename)
    return {"id": media.id}


def _media(
    business: Business, authorization: str, media_id: str, phone_number_id: str | None
) -> Media:
    allowed = {n.phone_number_id for n in _authorized(business, authorization)}
    media = business.media.items.get(media_id)
    if media is None or media.business_id not in allowed:
        raise _unknown_object(media_id)
    if phone_number_id is not None and phone_number_id != media.business_id:
        raise _unknown_object(media_id)
    return media


@router.get(
    "/{version:graph_version}/{media_id}",
    response_model=None,
    responses={200: {"model": MediaInfo}, **GRAPH_ERRORS},
)
async def media_url(
    version: str,
    media_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
    phone_number_id: str | None = None,
) -> dict[str, Any]:
    """Where to download an uploaded or received file: a short-lived URL."""
    business = _business(request)
    media = _media(business, authorization, media_id, phone_number_id)
    await _faults(business, "media")
    base = str(request.base_url).rstrip("/")
    return {
        "messaging_product": "whatsapp",
        "url": f"{base}/whatsapp_business/attachments/?{business.media.signed_query(media.id)}",
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "file_size": len(media.content),
        "id": media.id,
    }


@router.delete(
    "/{version:graph_version}/{media_id}",
    response_model=None,
    responses={200: {"model": Success}, **GRAPH_ERRORS},
)
async def delete_media(
    version: str,
    media_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
    phone_number_id: str | None = None,
) -> dict[str, bool]:
    business = _business(request)
    media = _media(business, authorization, media_id, phone_number_id)
    await _faults(business, "media")
    await business.media.delete(media.id)
    return {"success": True}


@router.get(
    "/whatsapp_business/attachments/",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
async def download_media(
    request: Request,
    mid: str = "",
    ext: int = 0,
    hash: str = "",
    authorization: Annotated[str, Header()] = "",
) -> Response:
    """The file behind a media URL; like Meta's, it still needs the access token."""
    business = _business(request)
    allowed = {n.phone_number_id for n in _authorized(business, authorization)}
    media = business.media.items.get(mid)
    if media is None or media.business_id not in allowed:
        raise GraphError(404, 100, "Invalid parameter", "media not found or deleted")
    if not business.media.check_url(mid, ext, hash):
        raise GraphError(404, 100, "Invalid parameter", "the media URL has expired; get a new one")
    await _faults(business, "media")
    return Response(media.content, media_type=media.mime_type)


@router.api_route(
    "/{version:graph_version}/{rest:path}",
    methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
    include_in_schema=False,
)
async def unsupported(version: str, rest: str, request: Request) -> None:
    """Any other Graph path: Meta's "Unsupported … request" error, not a bare 404."""
    object_id = rest.split("/")[0]
    raise GraphError(
        400,
        100,
        f"Unsupported {request.method.lower()} request",
        f"Object with ID '{object_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation",
        "GraphMethodException",
    )
