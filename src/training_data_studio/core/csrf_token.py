"""Where a request's CSRF token lives, for the pages that render it (core/csrf.py issues and checks it).

Its own module so that templating can read the token without importing the middleware, which renders its
refusals through the error handlers, which render templates."""

from __future__ import annotations

from starlette.requests import Request

FORM_FIELD = "csrf_token"
SCOPE_KEY = "tds.csrf_token"


def token_of(request: Request) -> str:
    """The CSRF token pages render into their forms (empty outside the middleware, e.g. an error page
    rendered by an outer guard, where no form is shown)."""
    return str(request.scope.get(SCOPE_KEY, ""))
