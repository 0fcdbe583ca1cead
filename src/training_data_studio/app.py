"""The FastAPI application factory: routers, error handlers, static files, database lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .conversations import api as conversations_api
from .conversations import pages as conversations_pages
from .core.body_limit import BodyLimit
from .core.config import Settings, get_settings
from .core.csrf import CsrfGuard
from .core.database_errors import install_database_error_handlers
from .core.db import Database
from .core.errors import install_error_handlers
from .core.hosts import HostGuard
from .core.security_headers import SecurityHeaders
from .exports import api as exports_api
from .exports import pages as exports_pages
from .generation import api as generation_api
from .generation import pages as generation_pages
from .generation.queue import ProcrastinateQueue
from .imports import api as imports_api
from .imports import pages as imports_pages
from .jobs import make_app
from .prompt_templates import api as prompt_templates_api
from .prompt_templates import pages as prompt_templates_pages
from .quality import api as quality_api
from .quality import pages as quality_pages
from .system import api as system_api
from .system import pages as system_pages
from .training_files import api as training_files_api
from .training_files import pages as training_files_pages
from .web import pages as web_pages

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
# The seed-file uploads stream to temporary files and keep the importer's own limit (20 MB a file).
UPLOAD_PATHS = ("/import", "/api/train-data/import/seed")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        app.state.database = database or Database.connect(settings)
        # The web process only defers and cancels tasks; workers run them.
        queue_app = make_app(app.state.database.target).open()
        app.state.job_queue = ProcrastinateQueue(queue_app)
        try:
            yield
        finally:
            queue_app.close()
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
    install_database_error_handlers(app)
    # Starlette runs the middleware added last first: headers on every answer, then the host check (DNS
    # rebinding), then the body cap, then the cross-site check, which may read a form body to find its token.
    app.add_middleware(CsrfGuard)
    app.add_middleware(BodyLimit, exempt_paths=UPLOAD_PATHS)
    app.add_middleware(HostGuard, allowed=settings.host_names)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (generation_api.router, system_api.router, system_pages.router, web_pages.router):
        app.include_router(router)
    app.include_router(imports_api.router)
    app.include_router(imports_pages.router)
    app.include_router(conversations_api.router)
    app.include_router(conversations_pages.router)
    app.include_router(prompt_templates_api.router)
    app.include_router(prompt_templates_pages.router)
    app.include_router(exports_api.router)
    app.include_router(exports_api.conversation_router)
    app.include_router(exports_pages.router)
    app.include_router(quality_api.router)
    app.include_router(quality_pages.router)
    app.include_router(generation_pages.router)
    app.include_router(training_files_api.router)
    app.include_router(training_files_pages.router)
    return app
