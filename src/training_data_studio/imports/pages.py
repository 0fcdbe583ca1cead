"""HTML routes of the Import screen: the upload form with live progress, the recent runs, one run's detail,
and rolling a run back.

An upload is imported in a background thread that reports each file to an in-memory progress store, keyed
by a random token; the page polls `GET /import/progress/{token}` every 300 ms until the summary arrives.
The files' bytes are read inside the request, because the web server deletes its spooled copies as soon
as the response is sent. The thread opens its own session and commits once at the end (as the CLI does),
so an import is still one transaction: a process that dies mid-import leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ..core.auth import CurrentUser
from ..core.db import Database, act_as
from ..core.deps import DbDep, SessionDep, UserDep
from ..core.errors import AppError
from ..core.templating import is_htmx, templates
from . import runs, service
from .parsing import MAX_FILE_BYTES, SeedSource
from .schemas import FileReport, ImportOptions, ImportRunSummary, ProgressEvent, RollbackSummary

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)

# A finished import stays readable this long, then it is dropped. The page stops polling as soon as it
# has the summary; the margin covers a slow tab. The run itself is in the database, listed below the form.
KEEP_FINISHED_SECONDS = 300
# At most this many finished imports are kept at once, whatever their age (the oldest go first).
MAX_FINISHED = 50
# Imports running at once, each holding its files in memory and one database connection; more are refused.
MAX_ACTIVE_IMPORTS = 4
# How long a form post from a browser without JavaScript waits for its import before showing its progress.
NO_SCRIPT_WAIT_SECONDS = 120
RUNS_SHOWN = 50

FAILED_IMPORT_MESSAGE = (
    "The import stopped on an unexpected error and nothing of it was saved. The cause is in the server log."
)


@dataclass
class ImportProgress:
    """What one import has done so far: written by its thread, read by the polls, always under the store's lock
    (readers get a copy)."""

    token: str
    files: int
    dry_run: bool
    # Bumped on every change: a poll that has already seen this version gets an empty answer.
    version: int = 0
    current_index: int = 0
    current_file: str | None = None
    # Within the current file: conversations checked so far, of how many.
    conversation: int = 0
    conversations: int = 0
    reports: list[FileReport] = field(default_factory=list)
    summary: ImportRunSummary | None = None
    error: str | None = None
    finished_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def files_done(self) -> int:
        return len(self.reports)

    @property
    def turns(self) -> int:
        return sum(report.turns for report in self.reports)

    @property
    def sentences(self) -> int:
        return sum(report.sentences for report in self.reports)

    @property
    def percent(self) -> int:
        return round(100 * self.files_done / self.files) if self.files else 100


class ImportProgressStore:
    """The progress of the imports of one app, bounded: finished entries are dropped after
    KEEP_FINISHED_SECONDS (or when more than MAX_FINISHED are kept), and at most MAX_ACTIVE_IMPORTS run."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, ImportProgress] = {}

    def start(self, *, files: int, dry_run: bool) -> ImportProgress:
        with self._lock:
            self._prune()
            active = sum(1 for entry in self._entries.values() if not entry.finished)
            if active >= MAX_ACTIVE_IMPORTS:
                raise AppError(
                    "too_many_imports",
                    f"{active} imports are already running: wait for one of them to finish, then try again.",
                    status=429,
                )
            entry = ImportProgress(token=secrets.token_urlsafe(16), files=files, dry_run=dry_run)
            self._entries[entry.token] = entry
            return entry

    def record(self, token: str, event: ProgressEvent) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return
            if event.kind == "file_started":
                entry.current_index = event.index
                entry.current_file = event.path
                entry.conversation = entry.conversations = 0
            elif event.kind == "conversation_checked":
                entry.current_index = event.index
                entry.current_file = event.path
                entry.conversation = event.conversation or 0
                entry.conversations = event.conversations or 0
            elif event.report is not None:
                entry.reports.append(event.report)
            entry.version += 1

    def finish(self, token: str, *, summary: ImportRunSummary | None = None, error: str | None = None) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return
            entry.summary = summary
            entry.error = error
            entry.finished_at = self._clock()
            entry.version += 1
            entry.done.set()

    def get(self, token: str) -> ImportProgress | None:
        """A copy of the entry as it is now, or None when it is unknown or was dropped."""
        with self._lock:
            self._prune()
            entry = self._entries.get(token)
            return None if entry is None else replace(entry, reports=list(entry.reports))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _prune(self) -> None:
        now = self._clock()
        finished = sorted(
            ((e.finished_at, e.token) for e in self._entries.values() if e.finished_at is not None),
        )
        overflow = max(0, len(finished) - MAX_FINISHED)
        for position, (finished_at, token) in enumerate(finished):
            if position < overflow or now - finished_at > KEEP_FINISHED_SECONDS:
                del self._entries[token]


_STORE_LOCK = threading.Lock()


def get_progress_store(request: Request) -> ImportProgressStore:
    """The app's progress store, created with the first import."""
    with _STORE_LOCK:
        store: ImportProgressStore | None = getattr(request.app.state, "import_progress", None)
        if store is None:
            store = request.app.state.import_progress = ImportProgressStore()
        return store


ProgressStoreDep = Annotated[ImportProgressStore, Depends(get_progress_store)]


@contextmanager
def _user_session(database: Database, user: CurrentUser) -> Iterator[Session]:
    """A transaction of its own for work outside the request's (as `get_session` does, row-level security
    included)."""
    with database.session_scope() as session:
        if user.role is not None:
            act_as(session, role=user.role, user_id=user.id, claims=user.claims)
        yield session


def _read_upload(upload: UploadFile, index: int) -> SeedSource:
    # Only the base name: a client-sent path is never trusted or shown as ours.
    name = PurePath(upload.filename or "").name or f"upload-{index}.json"
    if upload.size is not None and upload.size > MAX_FILE_BYTES:
        # Refused on its size by the import, which never reads it: no need to hold it in memory.
        return SeedSource(name=name, size=upload.size, read=bytes)
    # One byte past the limit is enough for the import to see the file is too large.
    data = upload.file.read(MAX_FILE_BYTES + 1)
    return SeedSource(name=name, size=upload.size, read=lambda: data)


def _run_import(
    *,
    database: Database,
    user: CurrentUser,
    sources: list[SeedSource],
    options: ImportOptions,
    store: ImportProgressStore,
    token: str,
) -> None:
    """The body of an import thread. The summary is published only after the commit, so the runs list
    refreshed on it shows the run."""
    try:
        with _user_session(database, user) as session:
            summary = service.import_uploads(
                session=session,
                uploads=sources,
                user=user.id,
                options=options,
                on_progress=lambda event: store.record(token, event),
            )
    except AppError as exc:
        store.finish(token, error=exc.message)
    except Exception:  # a thread has no caller to raise to: log the cause, show a safe message
        log.exception("import %s failed", token)
        store.finish(token, error=FAILED_IMPORT_MESSAGE)
    else:
        store.finish(token, summary=summary)


def _page_context(
    runs_session: Session | None,
    *,
    progress: ImportProgress | None = None,
    progress_missing: bool = False,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "progress": progress,
        "progress_missing": progress_missing,
        "keep_minutes": KEEP_FINISHED_SECONDS // 60,
    }
    if runs_session is not None:
        context["runs"] = runs.list_runs(session=runs_session, limit=RUNS_SHOWN)
    return context


def _finished_toast(progress: ImportProgress) -> dict[str, str]:
    summary = progress.summary
    if summary is None:
        return {"message": f"The import failed: {progress.error}", "kind": "error"}
    totals = summary.totals
    if summary.dry_run:
        return {
            "message": f"Dry run finished: {totals.conversations} conversation(s) would be imported, "
            f"{totals.errors} error(s). Nothing was saved.",
            "kind": "info",
        }
    if summary.status == "completed":
        return {
            "message": f"Imported {totals.conversations} conversation(s) from {totals.files} file(s).",
            "kind": "success",
        }
    return {
        "message": f"Import finished with errors: {totals.failed_files} of {totals.files} file(s) failed, "
        f"{totals.conversations} conversation(s) imported.",
        "kind": "error",
    }


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """The Import screen: the upload form and the recent import runs (the runs alone for an HTMX request)."""
    return templates.TemplateResponse(
        request,
        "import_page.html",
        _page_context(session),
        block_name="import_runs" if is_htmx(request) else None,
    )


@router.post("/import", response_class=HTMLResponse)
def start_import(
    request: Request,
    database: DbDep,
    user: UserDep,
    store: ProgressStoreDep,
    # A file input left empty sends one part with no file name, which arrives as an empty string.
    files: Annotated[list[UploadFile | str] | None, File(description="One or more seed JSON files.")] = None,
    repair: Annotated[bool, Form()] = False,
    replace: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """Read the uploaded files, start importing them in the background and answer with the progress panel."""
    chosen = [upload for upload in files or [] if not isinstance(upload, str) and upload.filename]
    if not chosen:
        raise AppError("no_files", "Choose at least one .json seed file to import.", status=422)
    sources = [_read_upload(upload, index) for index, upload in enumerate(chosen, start=1)]
    options = ImportOptions(repair=repair, replace=replace, dry_run=dry_run, source="upload")
    entry = store.start(files=len(sources), dry_run=dry_run)
    worker = threading.Thread(
        target=_run_import,
        kwargs={
            "database": database,
            "user": user,
            "sources": sources,
            "options": options,
            "store": store,
            "token": entry.token,
        },
        name=f"import-{entry.token[:8]}",
        # Not waited for at exit: an import killed with its process rolls back as a whole.
        daemon=True,
    )
    worker.start()
    if not is_htmx(request):
        # Without JavaScript nothing polls: wait here (bounded), then show the result on its own address.
        entry.done.wait(NO_SCRIPT_WAIT_SECONDS)
        return RedirectResponse(f"/import/progress/{entry.token}", status_code=303)
    return _progress_panel(request, entry.token, store.get(entry.token))


@router.get("/import/progress/{token}", response_class=HTMLResponse)
def import_progress(
    request: Request,
    database: DbDep,
    user: UserDep,
    store: ProgressStoreDep,
    token: str,
    seen: Annotated[int | None, Query(alias="v")] = None,
) -> Response:
    """One import's progress panel, then its summary (an HTMX poll); the whole page for a plain request."""
    progress = store.get(token)
    if not is_htmx(request):
        with _user_session(database, user) as session:
            context = _page_context(session, progress=progress, progress_missing=progress is None)
            return templates.TemplateResponse(request, "import_page.html", context)
    if progress is not None and not progress.finished and seen == progress.version:
        return Response(status_code=204)  # nothing new: the panel and its polling stay as they are
    return _progress_panel(request, token, progress)


def _progress_panel(request: Request, token: str, progress: ImportProgress | None) -> Response:
    """The progress panel alone; once finished, the summary with a toast and the event that refreshes the runs."""
    response = templates.TemplateResponse(
        request,
        "import_page.html",
        _page_context(None, progress=progress, progress_missing=progress is None),
        block_name="import_progress",
    )
    if progress is not None and progress.finished:
        trigger = {"showToast": _finished_toast(progress), "importFinished": token}
        response.headers["HX-Trigger"] = json.dumps(trigger)
    return response


@router.get("/import/runs/{run_id}", response_class=HTMLResponse)
def import_run_page(request: Request, session: SessionDep, user: UserDep, run_id: uuid.UUID) -> Response:
    """One import run: options, totals, each file's report with its warnings and errors, and its rollback."""
    run = runs.get_run(session=session, run_id=run_id)
    return templates.TemplateResponse(
        request, "import_run_detail.html", {"run": run}, block_name="run_detail" if is_htmx(request) else None
    )


def _rollback_message(result: RollbackSummary) -> str:
    counts = [
        (len(result.deleted), "conversation(s) deleted"),
        (len(result.restored_to_plan), "plan row(s) set back to planned"),
        (len(result.restored_previous), "replaced conversation(s) restored"),
        (len(result.missing), "conversation(s) already gone"),
    ]
    done = ", ".join(f"{count} {what}" for count, what in counts if count) or "it had written nothing"
    return f"Rolled back import {str(result.run_id)[:8]}: {done}."


@router.post("/import/runs/{run_id}/rollback", response_class=HTMLResponse)
def rollback_run_from_page(request: Request, session: SessionDep, user: UserDep, run_id: uuid.UUID) -> Response:
    """Roll one import run back; answers with the refreshed runs list, or the run's detail, and a toast."""
    result = runs.rollback_import(session, run_id, user=user.id, own_runs_only=user.uses_rls)
    if not is_htmx(request):
        return RedirectResponse(f"/import/runs/{run_id}", status_code=303)
    if request.headers.get("hx-target") == "run-detail":
        response = templates.TemplateResponse(
            request,
            "import_run_detail.html",
            {"run": runs.get_run(session=session, run_id=run_id)},
            block_name="run_detail",
        )
    else:
        response = templates.TemplateResponse(
            request, "import_page.html", _page_context(session), block_name="import_runs"
        )
    toast = {"message": _rollback_message(result), "kind": "success"}
    response.headers["HX-Trigger"] = json.dumps({"showToast": toast})
    return response
