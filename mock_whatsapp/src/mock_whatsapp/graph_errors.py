"""Meta's Graph API error shape, and the control API's own."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mock_whatsapp.events import report_refusal


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


class ControlError(Exception):
    """An error of the /_mock control API: {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GraphError)
    async def on_graph(request: Request, exc: GraphError) -> JSONResponse:
        body = exc.body()
        report_refusal(request.app.state, request.method, request.url.path, exc.status, body)
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(ControlError)
    async def on_control(_: Request, exc: ControlError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        if request.url.path.startswith("/_mock"):
            return JSONResponse(
                {"error": {"code": "invalid_request", "message": problems}}, status_code=400
            )
        body = invalid_parameter(problems).body()
        report_refusal(request.app.state, request.method, request.url.path, 400, body)
        return JSONResponse(body, status_code=400)
