"""Pages for screens whose features have not landed yet: each says plainly what it will hold."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..core.templating import templates

router = APIRouter(tags=["pages"], include_in_schema=False)

PENDING_SCREENS: dict[str, tuple[str, str]] = {}


def _pending_page(path: str) -> object:
    title, description = PENDING_SCREENS[path]

    def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "coming_soon.html", {"title": title, "description": description})

    page.__doc__ = f"The {title} screen (not built yet)."
    return page


for _path in PENDING_SCREENS:
    router.add_api_route(_path, _pending_page(_path), methods=["GET"], response_class=HTMLResponse)  # type: ignore[arg-type]
