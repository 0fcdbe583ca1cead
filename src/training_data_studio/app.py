"""The FastAPI application factory: routers, error handlers, static files, database lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .core.config import Settings, get_settings
from .core.db import Database
from .core.errors import install_error_handlers
from .system import api as system_api
from .system import pages as system_pages
from .web import pages as web_pages

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        app.state.database = database or Database.connect(settings)
        try:
            yield
        finally:
            if owned:
                app.state.database.dispose()

    app = FastAPI(
        title="Training Data Studio",
        summary="Build, generate, review and export annotated fine-tuning conversations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    if database is not None:
        app.state.database = database
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (system_api.router, system_pages.router, web_pages.router):
        app.include_router(router)
    return app
