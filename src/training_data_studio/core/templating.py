"""Jinja2 environment shared by every page. Each feature keeps its templates in its own `templates/`
folder; the shared layout and partials live in `web/templates/`. Pages render a named block alone for
HTMX requests (jinja2-fragments), so a page and its partial never drift apart."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks

from .csrf_token import FORM_FIELD, token_of

PACKAGE_DIR = Path(__file__).resolve().parents[1]
FEATURES_WITH_TEMPLATES = (
    "web",
    "system",
    "conversations",
    "imports",
    "generation",
    "quality",
    "prompt_templates",
    "exports",
    "training_files",
)


def _template_dirs() -> list[str]:
    return [
        str(PACKAGE_DIR / name / "templates")
        for name in FEATURES_WITH_TEMPLATES
        if (PACKAGE_DIR / name / "templates").is_dir()
    ]


def _stars(score: Decimal | float | None) -> str:
    if score is None:
        return ""
    filled = round(float(score))
    return "★" * filled + "☆" * (5 - filled)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def _common_context(request: Request) -> dict[str, Any]:
    return {
        "is_htmx": _is_htmx(request),
        "current_path": request.url.path,
        "csrf_token": token_of(request),
        "csrf_field": FORM_FIELD,
    }


env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_template_dirs()),
    autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["stars"] = _stars
templates = Jinja2Blocks(env=env, context_processors=[_common_context])


def is_htmx(request: Request) -> bool:
    return _is_htmx(request)
