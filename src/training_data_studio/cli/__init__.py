"""`tds`: thin commands that call services, one module per command group. Every expected failure prints one
line and exits non-zero."""

from __future__ import annotations

from . import export, generate, server
from .bench import bench_app
from .common import app
from .db import db_app
from .imports import import_app
from .quality import quality_app
from .training_file import training_file_app

app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(quality_app, name="quality")
app.add_typer(training_file_app, name="training-file")
app.add_typer(bench_app, name="bench")

__all__ = ["app", "export", "generate", "server"]
