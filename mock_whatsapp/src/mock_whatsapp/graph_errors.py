"""Meta's Graph API error shape, the codes the mock knows, and the control API's errors."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from promptpipe_service.logs import mask_phones_in_paths
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mock_whatsapp.events import report_refusal
from mock_whatsapp.journal import JournalUnavailable

log = logging.getLogger("mock_whatsapp")

# Meta's error codes the mock can answer with: code → (HTTP status, title). Statuses follow
# Meta's error-code table; builders should branch on the code, as Meta advises.
META_ERRORS: dict[int, tuple[int, str]] = {
    0: (401, "AuthException"),
    1: (400, "API Unknown"),
    2: (503, "API Service"),
    3: (500, "API Method"),
    4: (429, "Too many calls"),
    10: (403, "Permission Denied"),
    33: (400, "Parameter value is not valid"),
    100: (400, "Invalid parameter"),
    190: (401, "Access token has expired"),
    200: (403, "API Permission"),
    368: (403, "Temporarily blocked for policies violations"),
    80007: (400, "Rate limit issues"),
    130429: (400, "Rate limit hit"),
    130472: (400, "User's number is part of an experiment"),
    131000: (500, "Something went wrong"),
    131005: (403, "Access denied"),
    131008: (400, "Required parameter is missing"),
    131009: (400, "Parameter value is not valid"),
    131016: (503, "Service unavailable"),
    131021: (400, "Recipient cannot be sender"),
    131026: (400, "Message undeliverable"),
    131031: (403, "Business Account locked"),
    131042: (400, "Business eligibility payment issue"),
    131047: (400, "Re-engagement message"),
    131048: (400, "Spam rate limit hit"),
    131049: (400, "Meta chose not to deliver"),
    131051: (400, "Message type unknown"),
    131052: (400, "Media download error"),
    131053: (400, "Media upload error"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit"),
    131057: (500, "Account in maintenance mode"),
    132000: (400, "Number of parameters does not match the expected number of params"),
    132001: (404, "Template name does not exist in the translation"),
    132005: (400, "Translated text too long"),
    132012: (400, "Parameter format does not match format in the created template"),
    132015: (400, "Template is paused"),
    132016: (400, "Template is disabled"),
    133010: (400, "Phone number not registered"),
    135000: (400, "Generic user error"),
}


class GraphError(Exception):
    """An error answered in Meta's shape: {"error": {message, type, code, ...}}."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        details: str | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.error_type = details, error_type

    @classmethod
    def of(cls, code: int, details: str | None = None) -> GraphError:
        """Meta's error for `code`, with the HTTP status and title Meta uses for it."""
        status, title = META_ERRORS.get(code, (400, "Unknown error"))
        return cls(status, code, title, details)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": f"(#{self.code}) {self.message}",
            "type": self.error_type,
            "code": self.code,
            "fbtrace_id": secrets.token_urlsafe(16),
        }
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        return {"error": error}


def invalid_parameter(details: str) -> GraphError:
    return GraphError(400, 100, "Invalid parameter", details)


def webhook_error(code: int, details: str) -> dict[str, Any]:
    """The same error as it appears in a webhook's `errors[]` (a `failed` status)."""
    title = META_ERRORS.get(code, (400, "Unknown error"))[1]
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


class ControlError(Exception):
    """An error of the /_mock control API: {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def is_control_path(path: str) -> bool:
    """The mock's own API (errors {"error": {"code", "message"}}); the rest plays Meta."""
    return path.startswith("/_mock") or path in ("/healthz", "/readyz", "/openapi.json")


def control_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def refusal(path: str, status: int, detail: str) -> JSONResponse:
    """An HTTP-level refusal (no route, wrong method, unreadable or too large body) in
    the shape of the API the path belongs to."""
    if is_control_path(path):
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return control_error(status, codes.get(status, "invalid_request"), detail)
    return JSONResponse(GraphError(status, 100, "Invalid parameter", detail).body(), status)


def too_large(scope: Any) -> JSONResponse:
    """The 413 of a body over the cap (BodyLimit), refused before it is read."""
    return refusal(scope["path"], 413, "The request body is too large.")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path. Each route here has one method, so
    Starlette's own 405 would name only the first route's."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal in the shape its API documents, and never an exception's text."""

    @app.exception_handler(GraphError)
    async def on_graph(request: Request, exc: GraphError) -> JSONResponse:
        body = exc.body()
        report_refusal(request.app.state, request.method, request.url.path, exc.status, body)
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(JournalUnavailable)
    async def on_unavailable(request: Request, exc: JournalUnavailable) -> JSONResponse:
        # Nothing of the change was applied: the caller may simply try again.
        message = "the mock's database cannot be written now; nothing was changed"
        if request.url.path.startswith("/_mock"):
            return JSONResponse({"error": {"code": "unavailable", "message": message}}, 503)
        error = GraphError.of(131016, message)
        body = error.body()
        report_refusal(request.app.state, request.method, request.url.path, error.status, body)
        return JSONResponse(body, status_code=error.status)

    @app.exception_handler(ControlError)
    async def on_control(_: Request, exc: ControlError) -> JSONResponse:
        return control_error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        if is_control_path(request.url.path):
            return control_error(400, "invalid_request", problems)
        body = invalid_parameter(problems).body()
        report_refusal(request.app.state, request.method, request.url.path, 400, body)
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown paths (404), other methods (405), bodies that are not JSON (400) or
        # too large (413).
        response = refusal(request.url.path, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"path": mask_phones_in_paths(request.url.path)})
        if is_control_path(request.url.path):
            return control_error(500, "internal_error", "The mock could not do this.")
        return JSONResponse(GraphError.of(1).body(), status_code=500)
