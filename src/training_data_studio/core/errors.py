"""The one error type of the application and the handlers that render it for whoever asked.

A JSON client (anything under /api) gets `{"error": {"code", "message", "fields"}}`; an HTMX request gets a
toast through the HX-Trigger header; a browser gets a full error page. Logs keep the cause; users get a
safe message.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """An error we expected and can explain: bad input, a missing row, a conflicting state."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


class NotFoundError(AppError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__("not_found", f"{what} {ident} does not exist.", status=404)


class ConflictError(AppError):
    def __init__(self, message: str) -> None:
        super().__init__("conflict", message, status=409)


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def render_error(request: Request, status: int, code: str, message: str, fields: dict[str, str] | None) -> Response:
    if _wants_json(request):
        return JSONResponse(error_body(code, message, fields), status_code=status)
    if request.headers.get("hx-request") == "true":
        trigger = {"showToast": {"message": message, "kind": "error"}}
        # 200 so HTMX processes the trigger; nothing is swapped because the body is empty.
        return Response(status_code=204, headers={"HX-Trigger": json.dumps(trigger)})
    from .templating import templates

    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "fields": fields or {}},
        status_code=status,
    )


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return render_error(request, exc.status, exc.code, exc.message, exc.fields)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = {_field_path(tuple(e["loc"])): str(e["msg"]) for e in exc.errors()}
        message = "; ".join(f"{k}: {v}" for k, v in fields.items()) or "Invalid request."
        return render_error(request, 422, "validation_error", message, fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status_code, "http_error")
        response = render_error(request, exc.status_code, code, str(exc.detail), None)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render_error(request, 500, "internal_error", "Something went wrong on our side.", None)
