"""The agent's exceptions, and the one place that turns them into JSON errors."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("promptpipe_agent")


class AgentError(Exception):
    """Base of every error the API reports on purpose."""

    status_code = 500
    code = "internal_error"
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AgentError):
    status_code = 404
    code = "not_found"


class Unauthorized(AgentError):
    """The caller did not send the agent's bearer token."""

    status_code = 401
    code = "unauthorized"
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Unavailable(AgentError):
    """A dependency (the database, the LLM) cannot answer now; the caller may retry."""

    status_code = 503
    code = "unavailable"


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """What every refusal of the agent looks like, as the OpenAPI document shows it."""

    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


# For the routers whose requests have a JSON body: what FastAPI answers a body that is
# not JSON at all (not UTF-8, say) before any validation, in the error shape (on_http).
MALFORMED_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not JSON: `malformed_body`."}
}


def too_large(_: Any) -> JSONResponse:
    """The 413 of a body over the cap (BodyLimit), refused before it is read."""
    return JSONResponse(error_body("too_large", "The request body is too large."), status_code=413)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as {"error": {"code", "message"}}; exception text never does."""

    @app.exception_handler(AgentError)
    async def on_agent_error(_: Request, exc: AgentError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "problem": e["msg"]}
            for e in exc.errors()
        ]
        fields = ", ".join(d["field"] or "body" for d in details)
        return JSONResponse(
            error_body("invalid_request", f"The request is not valid: check {fields}.", details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "malformed_body", 404: "not_found", 413: "too_large"}.get(
            exc.status_code, "http_error"
        )
        # exc.headers carries what the status needs, e.g. a 405's Allow.
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"path": request.url.path})
        return JSONResponse(
            error_body("internal_error", "The agent could not process this request."),
            status_code=500,
        )
