"""The last line for database refusals that reach a route: a 4xx with the error shape, never a 500.

Input is validated at every edge, so these should not happen; when one does (a policy the request's role
does not pass, a value PostgreSQL cannot store), the user learns that the request was refused and why, and
the log keeps the cause. Any other database error stays a 500: it is ours.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError

from .errors import render_error

log = logging.getLogger(__name__)

INSUFFICIENT_PRIVILEGE = "42501"
# Class 22: data exceptions (numeric value out of range, invalid text representation, ...).
DATA_EXCEPTION_CLASS = "22"
# psycopg refuses NUL characters before sending them (PostgreSQL text cannot hold them): no SQLSTATE.
NUL_MESSAGE = "NUL (0x00)"


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return str(state) if state else None


def install_database_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        state = _sqlstate(exc)
        if state == INSUFFICIENT_PRIVILEGE:
            log.warning("permission denied on %s %s: %s", request.method, request.url.path, exc.orig)
            message = "Your sign-in does not allow this change (the row-level-security policies refused it)."
            return render_error(request, 403, "forbidden", message, None)
        if (state or "").startswith(DATA_EXCEPTION_CLASS) or NUL_MESSAGE in str(exc.orig):
            log.warning("value refused by the database on %s %s: %s", request.method, request.url.path, exc.orig)
            message = (
                "A value in the request cannot be stored (a NUL character, or a number out of range). "
                "Remove control characters and keep numbers within range, then try again."
            )
            return render_error(request, 422, "unstorable_value", message, None)
        log.exception("database error on %s %s", request.method, request.url.path)
        return render_error(request, 500, "internal_error", "Something went wrong on our side.", None)
