"""`tds training-file create|add|remove|list|download`: training files from the command line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.table import Table

from ..core.config import get_settings
from .common import clear_errors, connected_database, console, err_console

if TYPE_CHECKING:
    from ..training_files.schemas import Selection, VersionRead
    from ..training_files.storage import Storage

training_file_app = typer.Typer(
    help="Training files: named sets of conversations written in the v4 layout, versioned.", no_args_is_help=True
)

FORMATS = {
    "v4-json": "training-file.v4.json",
    "v4-jsonl": "training-file.v4.jsonl",
    "chat-jsonl": "training-file.chat.jsonl",
    "sharegpt": "training-file.sharegpt.json",
}

IdsArgument = Annotated[
    list[str] | None, typer.Argument(help="Conversation ids (e.g. fp_marcus_011); or use the filter options.")
]
StatusOption = Annotated[
    list[str] | None, typer.Option("--status", help="Filter: status (repeatable; default approved).")
]
TierOption = Annotated[list[str] | None, typer.Option("--tier", help="Filter: tier (repeatable).")]
PersonaOption = Annotated[list[str] | None, typer.Option("--persona", help="Filter: persona type (repeatable).")]
QualityOption = Annotated[float | None, typer.Option("--min-quality", help="Filter: quality score at least.")]


def _selection(
    ids: list[str] | None,
    status: list[str] | None,
    tier: list[str] | None,
    persona: list[str] | None,
    min_quality: float | None,
) -> Selection:
    from ..training_files.schemas import Selection

    try:
        return Selection(
            conversation_ids=ids or [],
            statuses=status or [],
            tiers=tier or [],
            personas=persona or [],
            min_quality=None if min_quality is None else Decimal(str(min_quality)),
        )
    except ValidationError as exc:
        _bad_options(exc)


def _bad_options(exc: ValidationError) -> NoReturn:
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "options"
        err_console.print(f"[bold red]error:[/] {where}: {error['msg']}", highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None


def _storage() -> Storage:
    from ..training_files.storage import storage_from_settings

    return storage_from_settings(get_settings())


def _print_version(name: str, version: VersionRead) -> None:
    metadata = version.file_metadata
    quality = metadata["quality_summary"]
    console.print(
        f"{name} v{version.version_number}: {version.conversation_count} conversations, {version.pair_count} pairs; "
        f"quality avg {quality['avg_quality_score']} (min {quality['min_quality_score']}, "
        f"max {quality['max_quality_score']}); {version.change['action']} "
        f"+{len(version.change['added'])} -{len(version.change['removed'])}",
        highlight=False,
    )


@training_file_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The training file's name.")],
    ids: IdsArgument = None,
    status: StatusOption = None,
    tier: TierOption = None,
    persona: PersonaOption = None,
    min_quality: QualityOption = None,
    target_model: Annotated[str | None, typer.Option(help="Intended model, e.g. llama-3.1-8b.")] = None,
) -> None:
    """Create a training file from conversation ids or filters; writes and validates version 1."""
    from ..training_files import service
    from ..training_files.schemas import TrainingFileCreate

    selection = _selection(ids, status, tier, persona, min_quality)
    try:
        data = TrainingFileCreate(name=name, target_model=target_model, selection=selection)
    except ValidationError as exc:
        _bad_options(exc)
    with clear_errors():
        database = connected_database()
        try:
            with database.session_scope() as session:
                detail = service.create_training_file(
                    session=session, data=data, user=get_settings().user, storage=_storage()
                )
        finally:
            database.dispose()
    _print_version(detail.name, detail.versions[0])


def _change(
    action: str,
    name: str,
    ids: list[str] | None,
    status: list[str] | None,
    tier: list[str] | None,
    persona: list[str] | None,
    min_quality: float | None,
) -> None:
    from ..training_files import service
    from ..training_files.schemas import MembershipChange

    selection = _selection(ids, status, tier, persona, min_quality)
    change = MembershipChange(selection=selection)
    run = service.add_conversations if action == "add" else service.remove_conversations
    with clear_errors():
        database = connected_database()
        try:
            with database.session_scope() as session:
                version = run(session=session, ident=name, change=change, user=get_settings().user, storage=_storage())
        finally:
            database.dispose()
    _print_version(name, version)


@training_file_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The training file's name or id.")],
    ids: IdsArgument = None,
    status: StatusOption = None,
    tier: TierOption = None,
    persona: PersonaOption = None,
    min_quality: QualityOption = None,
) -> None:
    """Add conversations (ids or filters) to a training file: a new version."""
    _change("add", name, ids, status, tier, persona, min_quality)


@training_file_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The training file's name or id.")],
    ids: IdsArgument = None,
    status: StatusOption = None,
    tier: TierOption = None,
    persona: PersonaOption = None,
    min_quality: QualityOption = None,
) -> None:
    """Remove conversations (ids or filters) from a training file: a new version."""
    _change("remove", name, ids, status, tier, persona, min_quality)


@training_file_app.command("list")
def list_files() -> None:
    """Every training file with its current version."""
    from ..training_files import service

    with clear_errors():
        database = connected_database()
        try:
            with database.session_scope() as session:
                files = service.list_training_files(session=session)
        finally:
            database.dispose()
    if not files:
        console.print("no training files yet: tds training-file create NAME [IDS...] [--status ...]")
        return
    table = Table("name", "version", "conversations", "target model", "changed")
    for file in files:
        table.add_row(
            file.name,
            f"v{file.current_version}",
            str(file.conversation_count),
            file.target_model or "",
            file.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@training_file_app.command("download")
def download(
    name: Annotated[str, typer.Argument(help="The training file's name or id.")],
    out: Annotated[Path, typer.Option("--out", help="File to write (a folder: the file's own name in it).")],
    export_format: Annotated[
        str, typer.Option("--format", help="v4-json, v4-jsonl, chat-jsonl or sharegpt.")
    ] = "v4-json",
    version: Annotated[int | None, typer.Option(help="Version number; default the current one.")] = None,
) -> None:
    """Write one file of a version (checked against its recorded sha256) to --out."""
    from ..core.errors import AppError
    from ..training_files import service

    if export_format not in FORMATS:
        err_console.print(f"[bold red]error:[/] --format {export_format!r}: use {', '.join(FORMATS)}", highlight=False)
        raise typer.Exit(2)
    with clear_errors():
        database = connected_database()
        try:
            with database.session_scope() as session:
                number = version or service.get_training_file(session=session, ident=name).current_version
                found = service.download(
                    session=session, ident=name, version=number, name=FORMATS[export_format], storage=_storage()
                )
        finally:
            database.dispose()
        target = out / found.name if out.is_dir() else out
        try:
            target.write_bytes(found.data)
        except OSError as exc:
            raise AppError("write_failed", f"Cannot write {target}: {exc.strerror}; choose another --out.") from exc
    console.print(f"wrote {target} ({len(found.data):,} bytes, {name} v{number}, {export_format})", highlight=False)
