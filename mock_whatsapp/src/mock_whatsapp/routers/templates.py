"""Message templates: Meta's management endpoints (GET, POST, DELETE
/{version}/{waba_id}/message_templates) and the control API that drives their review
(/_mock/templates)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from promptpipe_service.storable import check_storable
from pydantic import BaseModel, ConfigDict, model_validator

from mock_whatsapp.business import Business
from mock_whatsapp.graph_errors import ControlError, GraphError, invalid_parameter
from mock_whatsapp.routers.graph import _authorized, _unknown_object
from mock_whatsapp.schemas import CONTROL_ERRORS, GRAPH_ERRORS
from mock_whatsapp.template_review import RejectionReason, TemplateReview
from mock_whatsapp.template_submission import TemplateError, duplicate, submitted
from mock_whatsapp.templates import MessageTemplate

router = APIRouter()

PATH = "/{version:graph_version}/{waba_id}/message_templates"
PAGE_SIZE, PAGE_MAX = 25, 100
# Meta's cap on templates per WhatsApp Business Account (reported in the list's summary).
TEMPLATE_LIMIT = 250
SUMMARY_FIELDS = (
    "total_count",
    "message_template_count",
    "message_template_limit",
    "are_translations_complete",
)


def _business(request: Request) -> Business:
    business: Business = request.app.state.business
    return business


def _review(request: Request) -> TemplateReview:
    review: TemplateReview = request.app.state.template_review
    return review


def _account(business: Business, authorization: str, waba_id: str) -> str:
    """The WABA, if the bearer token may manage it (a token of one of its numbers)."""
    if waba_id not in {n.waba_id for n in _authorized(business, authorization)}:
        raise _unknown_object(waba_id)
    return waba_id


def _listed(values: str | None) -> set[str] | None:
    """A comma-separated filter (Meta matches statuses and categories in any case)."""
    return {v.strip().upper() for v in values.split(",") if v.strip()} if values else None


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"index:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("index:"))
    except ValueError as exc:
        raise invalid_parameter(f"invalid paging cursor {cursor!r}") from exc


@router.get(PATH, tags=["graph api"], response_model=None, responses=GRAPH_ERRORS)
async def list_templates(
    version: str,
    waba_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """The WABA's templates: `fields`, filters (`name` part, `status`, `category`,
    `language`), `limit` with `after`/`before` cursors, and the `summary` counts."""
    business = _business(request)
    _account(business, authorization, waba_id)
    q = request.query_params
    statuses, categories = _listed(q.get("status")), _listed(q.get("category"))
    languages = {v for v in (q.get("language") or "").split(",") if v} or None
    found = [
        t
        for t in business.templates.of(waba_id)
        if (statuses is None or t.status in statuses)
        and (categories is None or t.category in categories)
        and (languages is None or t.language in languages)
        and q.get("name", "") in t.name
        and q.get("content", "").lower() in t.body.lower()
    ]
    try:
        limit = min(int(q.get("limit", PAGE_SIZE)), PAGE_MAX)
    except ValueError as exc:
        raise invalid_parameter("limit must be a number") from exc
    if limit < 1:
        raise invalid_parameter("limit must be at least 1")
    start = _index(q["after"]) + 1 if q.get("after") else 0
    if q.get("before"):
        start = max(0, _index(q["before"]) - limit)
    page = found[start : start + limit]
    fields = [f for f in q.get("fields", "").split(",") if f] or None
    answer: dict[str, Any] = {"data": [t.view(fields) for t in page], "paging": {}}
    if page:
        answer["paging"]["cursors"] = {
            "before": _cursor(start),
            "after": _cursor(start + len(page) - 1),
        }
        if start + len(page) < len(found):
            after = request.url.include_query_params(after=_cursor(start + len(page) - 1))
            answer["paging"]["next"] = str(after)
    if q.get("summary"):
        everything = len(business.templates.of(waba_id))
        summary = {
            "total_count": len(found),
            "message_template_count": everything,
            "message_template_limit": TEMPLATE_LIMIT,
            "are_translations_complete": True,
        }
        wanted = [s for s in q["summary"].split(",") if s in SUMMARY_FIELDS]
        answer["summary"] = {k: summary[k] for k in wanted or SUMMARY_FIELDS}
    return answer


class TemplateCreated(BaseModel):
    id: str
    status: Literal["PENDING"]
    category: str


@router.post(
    PATH,
    tags=["graph api"],
    response_model=None,
    responses={200: {"model": TemplateCreated}, **GRAPH_ERRORS},
)
async def create_template(
    version: str,
    waba_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """Submit a template (name, language, category, components with their examples): it
    starts PENDING review."""
    business = _business(request)
    _account(business, authorization, waba_id)
    try:
        body = await request.json()
    except ValueError as exc:
        raise TemplateError("the request body must be JSON") from exc
    try:
        check_storable(body)
    except ValueError as exc:
        raise TemplateError(str(exc)) from exc
    template = submitted(waba_id, body, business.clock.now())
    if business.templates.find(waba_id, template.name, template.language) is not None:
        raise duplicate(template.language)
    await business.templates.add(template)
    _review(request).poke()
    return {"id": template.id, "status": template.status, "category": template.category}


@router.delete(PATH, tags=["graph api"], response_model=None, responses=GRAPH_ERRORS)
async def delete_template(
    version: str,
    waba_id: str,
    request: Request,
    authorization: Annotated[str, Header()] = "",
    name: str | None = None,
    hsm_id: str | None = None,
    hsm_ids: str | None = None,
) -> dict[str, bool]:
    """Delete by `name` (every language), by `name` and `hsm_id` (that one), or several
    by `hsm_ids` ([id, …]); all or nothing."""
    business = _business(request)
    _account(business, authorization, waba_id)
    mine = business.templates.of(waba_id)
    if hsm_ids is not None:
        if name is not None or hsm_id is not None:
            raise invalid_parameter("hsm_ids cannot be combined with name or hsm_id")
        try:
            ids = [str(i) for i in json.loads(hsm_ids)]
        except (ValueError, TypeError) as exc:
            raise invalid_parameter("hsm_ids must be a JSON list of template ids") from exc
        doomed = [t for t in mine if t.id in ids]
        if len(doomed) != len(set(ids)):
            raise invalid_parameter("hsm_ids: one or more template ids are invalid")
    elif name is None:
        raise GraphError.of(100, "name is required (or hsm_ids)")
    else:
        doomed = [t for t in mine if t.name == name and hsm_id in (None, t.id)]
        if not doomed:
            raise invalid_parameter(f"message template {name!r} does not exist")
    if any(t.status == "DISABLED" for t in doomed):
        raise invalid_parameter("templates that are disabled cannot be deleted")
    for template in doomed:
        await business.templates.remove(template)
    return {"success": True}


# --- control: review ------------------------------------------------------------------


class TemplateView(BaseModel):
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    status: str
    rejected_reason: str
    on_hold: bool
    created_at: str
    body: str


class TemplateList(BaseModel):
    templates: list[TemplateView]


class TemplateAnswer(BaseModel):
    template: TemplateView


class ReviewDecision(BaseModel):
    """A new status for a template. PENDING puts it back in review and holds it there (no
    automatic approval); REJECTED takes one of Meta's reasons (INVALID_FORMAT if none)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["APPROVED", "REJECTED", "PAUSED", "DISABLED", "PENDING"]
    reason: RejectionReason | None = None

    @model_validator(mode="after")
    def _reason_for_rejections(self) -> ReviewDecision:
        if self.reason is not None and self.status != "REJECTED":
            raise ValueError("reason applies to status REJECTED only")
        return self


@router.get("/_mock/templates", tags=["control"], response_model=TemplateList)
async def templates(request: Request, waba_id: str | None = None) -> dict[str, Any]:
    """Every template of every WABA (or of one), with its review status."""
    registry = _business(request).templates
    found = registry.of(waba_id) if waba_id else list(registry.by_id.values())
    return {"templates": [t.summary() for t in found]}


def _template(request: Request, template_id: str) -> MessageTemplate:
    template = _business(request).templates.by_id.get(template_id)
    if template is None:
        raise ControlError(404, "not_found", f"no template {template_id!r}")
    return template


@router.post(
    "/_mock/templates/{template_id}/review",
    tags=["control"],
    response_model=TemplateAnswer,
    responses=CONTROL_ERRORS,
)
async def review(template_id: str, decision: ReviewDecision, request: Request) -> dict[str, Any]:
    """Decide a template's review (or change an approved one), as Meta would: the status
    changes and a message_template_status_update webhook goes to every subscriber."""
    template = _template(request, template_id)
    decided = await _review(request).decide_now(template, decision.status, decision.reason)
    return {"template": decided.summary()}
