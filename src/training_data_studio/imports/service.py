"""Seed import: files or uploads in, conversations out, every run recorded and reversible.

Transactions: the caller owns the transaction (CLI wrapper or request dependency) and commits once. Each
file is written inside its own SAVEPOINT (``session.begin_nested()``, or a plain SAVEPOINT on the pipeline
below): a file that fails for any reason, database errors included, is rolled back to its savepoint and
leaves no rows, while the other files of the run go on. The run record is written in the same
transaction, so a committed run always matches its data. A dry run does all of it inside one more
savepoint and rolls that back: nothing is written, not even the run record.

Speed: a file whose conversations are all new (the common case, and the bulk of any large import) is written
on a psycopg pipeline without waiting for the server: the client reads, validates and computes the next
file while the server writes this one (:class:`_PipelinedFiles`; docs/decisions.md). Anything else (plan
rows, duplicates, replace, rejected files) takes the careful path, one statement at a time. Both give the
same rows, reports and progress events.

Plan rows: a conversation id whose row is ``planned`` is filled in place (it keeps number, persona,
topic, tier and template); any other existing id is a duplicate, skipped unless ``replace`` (then its
content is deleted and re-imported; the previous state is kept on the run item for rollback). Ids not in
the plan get new rows numbered max + 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..conversations.document import ConversationDoc
from ..conversations.export import export_document
from ..conversations.store import (
    SEED_IMPORT_METHOD,
    bulk_insert,
    clear_conversation_content,
    column_issues,
    driver_connection,
    new_conversation_rows,
    next_conversation_number,
    row_snapshot,
    rows_by_table,
    save_conversation,
    saved_counts,
    send_inserts,
    table_of,
)
from ..models import ImportRun, ImportRunItem, QualityMetrics, TrainingConversation
from ..models.enums import ConversationStatus
from ..quality.measure import measure_document
from . import plan_match
from .parsing import ParsedSeed, SeedSource, parse_source
from .schemas import (
    FileReport,
    ImportOptions,
    ImportRunSummary,
    Problem,
    ProgressEvent,
    RunStatus,
    RunTotals,
)

IMPORTED_STATUS = ConversationStatus.APPROVED
# Fewer pairs than the file declares: generation can complete it later.
INCOMPLETE_STATUS = ConversationStatus.INCOMPLETE
PLANNED_STATUS = ConversationStatus.PLANNED

ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class InputProblem:
    """An input that failed before it could be read as a file (missing path, empty directory)."""

    name: str
    message: str
    code: str


SeedInput = SeedSource | InputProblem


def expand_paths(paths: Iterable[str | Path]) -> list[SeedInput]:
    """Files as given; a directory contributes its ``*.json`` and ``*.jsonl`` files (sorted, not recursive)."""
    inputs: list[SeedInput] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
            if not files:
                inputs.append(InputProblem(str(path), "directory contains no .json or .jsonl files", "no_json_files"))
            inputs.extend(SeedSource.from_path(p) for p in files)
        elif path.is_file():
            inputs.append(SeedSource.from_path(path))
        elif path.exists():
            inputs.append(InputProblem(str(path), "is not a regular file or directory", "not_a_file"))
        else:
            inputs.append(InputProblem(str(path), "does not exist", "not_found"))
    return inputs


def import_paths(
    *,
    session: Session,
    paths: Sequence[str | Path],
    user: str | None,
    options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportRunSummary:
    """Import seed files and directories of seed files as one recorded run."""
    return import_sources(
        session=session, inputs=expand_paths(paths), user=user, options=options, on_progress=on_progress
    )


def import_uploads(
    *,
    session: Session,
    uploads: Sequence[SeedSource],
    user: str | None,
    options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportRunSummary:
    """Import uploaded files (already spooled by the web server; their size is checked before reading)."""
    return import_sources(session=session, inputs=list(uploads), user=user, options=options, on_progress=on_progress)


def now() -> datetime:
    return datetime.now(UTC)


def import_sources(
    *,
    session: Session,
    inputs: Sequence[SeedInput],
    user: str | None,
    options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportRunSummary:
    options = options or ImportOptions()
    started_at = now()
    dry_run = session.begin_nested() if options.dry_run else None
    run = ImportRun(
        id=uuid.uuid4(),
        started_at=started_at,
        created_by=user,
        options=options.model_dump(mode="json"),
        status="running",
    )
    session.add(run)
    session.flush()

    state = _RunState(run_id=run.id, user=user, options=options)
    reports: list[FileReport] = []
    total = len(inputs)

    def started(index: int, name: str) -> None:
        if on_progress:
            on_progress(ProgressEvent(kind="file_started", index=index, total=total, path=name))

    def finished(index: int, name: str, report: FileReport) -> None:
        reports.append(report)
        if on_progress:
            on_progress(ProgressEvent(kind="file_finished", index=index, total=total, path=name, report=report))

    def checked(index: int, name: str, conversation: int, conversations: int) -> None:
        if on_progress:
            on_progress(
                ProgressEvent(
                    kind="conversation_checked",
                    index=index,
                    total=total,
                    path=name,
                    conversation=conversation,
                    conversations=conversations,
                )
            )

    state.checked = checked

    with _PipelinedFiles(session, state, started=started, finished=finished) as pipelined:
        for index, (item, parsed) in enumerate(_parsed(inputs, repair=options.repair), start=1):
            if parsed is not None and _may_pipeline(parsed) and pipelined.write(index, parsed):
                continue
            pipelined.pause()  # the careful path uses the ORM, after the file in flight has settled
            if pipelined.announced != index:
                started(index, item.name)
            finished(index, item.name, _import_input(session, item, parsed, state, index))
        pipelined.pause()

    bulk_insert(session, [(table_of(ImportRunItem), state.items)])
    totals = _totals(reports)
    status = _run_status(reports)
    finished_at = now()
    if dry_run is not None:
        dry_run.rollback()
    else:
        run.finished_at = finished_at
        run.status = status
        run.files = [_without_nul(r.model_dump(mode="json")) for r in reports]
        run.conversation_count = totals.conversations
        run.turn_count = totals.turns
        run.sentence_count = totals.sentences
        run.duplicate_count = totals.duplicates
        run.warning_count = totals.warnings
        run.error_count = totals.errors
        session.flush()
    return ImportRunSummary(
        run_id=None if options.dry_run else state.run_id,
        status=status,
        dry_run=options.dry_run,
        options=options,
        created_by=user,
        started_at=started_at,
        finished_at=finished_at,
        totals=totals,
        files=reports,
    )


def _without_nul(value: Any) -> Any:
    """A report as JSONB can hold it: PostgreSQL rejects U+0000 in text and JSONB, and a report may quote a
    file's bad bytes (an error message, an excerpt). Shown as the escape `\\u0000` instead."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _totals(reports: Sequence[FileReport]) -> RunTotals:
    return RunTotals(
        files=len(reports),
        failed_files=sum(1 for r in reports if r.status == "failed"),
        conversations=sum(r.conversations for r in reports),
        turns=sum(r.turns for r in reports),
        sentences=sum(r.sentences for r in reports),
        duplicates=sum(r.duplicates for r in reports),
        warnings=sum(len(r.warnings) for r in reports),
        errors=sum(len(r.errors) for r in reports),
    )


def _run_status(reports: Sequence[FileReport]) -> RunStatus:
    failed = sum(1 for r in reports if r.status == "failed")
    if failed == 0:
        return "completed"
    return "completed_with_errors" if failed < len(reports) else "failed"


@dataclass
class _RunState:
    run_id: uuid.UUID
    user: str | None
    options: ImportOptions
    # conversation_id -> the file of this run that wrote it
    written: dict[str, str] = field(default_factory=dict)
    # Items of the files imported so far; written once, at the end of the run.
    items: list[dict[str, Any]] = field(default_factory=list)
    # The next conversation number, once this run holds the numbering lock.
    next_number: int | None = None
    # Plan rows filled in this run by conversations of another id (not offered to a later file again).
    filled_slots: set[object] = field(default_factory=set)
    # Told (file index, file name, conversation, conversations) as each conversation of a file is checked.
    checked: Callable[[int, str, int, int], None] | None = None

    def conversation_checked(self, index: int, name: str, conversation: int, conversations: int) -> None:
        if self.checked is not None:
            self.checked(index, name, conversation, conversations)

    def take_number(self, session: Session) -> int:
        if self.next_number is None:
            self.next_number = next_conversation_number(session)
        number = self.next_number
        self.next_number += 1
        return number


# Lock the rows of a file's conversation ids (a row's own id, or the file's id of a plan slot it filled), find
# who owns its turn ids already, and the planned rows its scaffolding could fill (one round trip).
_LOOKUP = """
WITH locked AS (
  SELECT id, conversation_id, source_conversation_id FROM training_conversations
  WHERE conversation_id = ANY(%(ids)s) OR source_conversation_id = ANY(%(ids)s) FOR UPDATE
)
SELECT 'conversation',
       CASE WHEN conversation_id = ANY(%(ids)s) THEN conversation_id ELSE source_conversation_id END, id::text
FROM locked
UNION ALL
SELECT 'turn', t.turn_id, c.conversation_id
FROM training_turns t JOIN training_conversations c ON c.id = t.conversation_id
WHERE t.turn_id = ANY(%(pair_ids)s)
UNION ALL
SELECT 'plan', tier_template, id::text FROM training_conversations
WHERE generation_status = 'planned' AND tier_template = ANY(%(arcs)s)
"""


def _lookup_params(docs: Sequence[ConversationDoc]) -> dict[str, list[str]]:
    return {
        "ids": [doc.conversation_id for doc in docs],
        "pair_ids": [turn_id for doc in docs for turn_id in doc.turn_ids()],
        "arcs": sorted({arc for doc in docs if (arc := plan_match.arc_key(doc)) is not None}),
    }


class _FileRejected(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message if problems else "rejected")
        self.problems = problems


def _parsed(inputs: Sequence[SeedInput], *, repair: bool) -> Iterator[tuple[SeedInput, ParsedSeed | None]]:
    """Each input with its parse result, in order, read and validated just before it is written: on the
    pipelined path the server is writing the previous file meanwhile. (A parsing thread cost more than it
    gained there: it holds the GIL just when the writer's results arrive.)"""
    for item in inputs:
        yield item, parse_source(item, repair=repair) if isinstance(item, SeedSource) else None


# --------------------------------------------------------------------------------------------------
# The fast path: new conversations written on a pipeline, the client one file ahead of the server
# --------------------------------------------------------------------------------------------------

# One file at a time has a savepoint, so one name does.
_SAVEPOINT = "SAVEPOINT tds_import_file"
_RELEASE = "RELEASE SAVEPOINT tds_import_file"
_ROLLBACK = "ROLLBACK TO SAVEPOINT tds_import_file"


def _may_pipeline(parsed: ParsedSeed) -> bool:
    """A valid file whose values fit their columns: it is written on the pipeline when the lookup then
    finds none of its ids (every conversation is new)."""
    return parsed.ok and bool(parsed.docs) and not any(column_issues(doc) for doc in parsed.docs)


@dataclass
class _SentFile:
    """A file whose statements were sent and whose outcome is not known yet."""

    index: int
    report: FileReport
    written: dict[str, str]
    items: list[dict[str, Any]]
    numbering: int | None
    # Its RELEASE SAVEPOINT: it has a result once the server has written the whole file.
    release: psycopg.Cursor[Any]


class _PipelinedFiles:
    """Files of new conversations, written on the session's connection in psycopg pipeline mode.

    Each file is its own savepoint, exactly as on the careful path; what changes is that nobody waits for
    the server between files. A file's statements (SAVEPOINT, the lookup of its ids, one multi-row INSERT
    per table, RELEASE) are sent, and the client goes on with the next file (reading, validating,
    building its rows and running the quality checks) while the server writes. At most one file is in
    flight: it settles when the next file's lookup answers (results come in order), before anything is
    decided about that next file, so decisions see exactly what they see on the careful path. Reports
    and progress events are therefore final and in file order.

    A database error aborts the pipeline up to the next sync: the pipeline is drained, the transaction
    rolled back to the savepoint (which is the failed file's), and the error is blamed on the file in
    flight when its RELEASE never answered, else on the file being sent. That file is reported as
    refused, with nothing of it written, and the run goes on.

    The ORM must not use the connection in pipeline mode: :meth:`pause` waits for the file in flight and
    leaves pipeline mode (before the careful path, the numbering lock, the end of the run).
    """

    def __init__(
        self,
        session: Session,
        state: _RunState,
        *,
        started: Callable[[int, str], None],
        finished: Callable[[int, str, FileReport], None],
    ) -> None:
        self._session = session
        self._state = state
        self._started = started
        self._finished = finished
        self._stack = ExitStack()
        self._pipeline: psycopg.Pipeline | None = None
        self._connection: psycopg.Connection[Any] | None = None
        self._in_flight: _SentFile | None = None
        # The last file whose file_started event was sent (the careful path does not send it twice).
        self.announced: int | None = None

    def __enter__(self) -> _PipelinedFiles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # After an unexpected exception psycopg drains the pipeline; the caller's transaction is rolled back.
        self._stack.close()

    def _pipelined(self) -> psycopg.Connection[Any]:
        if self._connection is None:
            connection = driver_connection(self._session)
            self._pipeline = self._stack.enter_context(connection.pipeline())
            self._connection = connection
        return self._connection

    def pause(self) -> None:
        """Wait for the file in flight and leave pipeline mode, so that the ORM can use the session."""
        if self._pipeline is None:
            return
        try:
            self._pipeline.sync()
        except psycopg.Error as exc:
            if not self._recover(exc):
                raise
        self._settle()
        self._stack.close()
        self._pipeline = self._connection = None

    def write(self, index: int, parsed: ParsedSeed) -> bool:
        """Write a file of new conversations without waiting for the server (its progress events and
        report follow when it settles); False, with nothing written or reported, when the lookup finds an
        id already taken (a plan row, a duplicate, a turn id in use): the caller then takes the careful
        path."""
        state, docs = self._state, parsed.docs
        params = _lookup_params(docs)
        lookup = self._send_lookup(params)
        # Progress in file order: with no file in flight this file is announced now and its conversations are
        # reported as they are checked; else that waits until the file in flight has settled (and finished).
        live = self._in_flight is None
        held: list[tuple[int, int]] = []
        if live:
            self._started(index, parsed.name)
            self.announced = index

        def checked(number: int) -> None:
            if live:
                state.conversation_checked(index, parsed.name, number, len(docs))
            else:
                held.append((number, len(docs)))

        # The expensive part of the file, computed while the server writes the file in flight.
        rows = []
        for number, doc in enumerate(docs, start=1):
            rows.append(
                new_conversation_rows(
                    doc,
                    measure=measure_document,
                    user=state.user,
                    status=imported_status(doc),
                    generation_method=SEED_IMPORT_METHOD,
                    import_run_id=state.run_id,
                    source_file=parsed.name,
                )
            )
            checked(number)
        found = self._fetch_lookup(lookup, params)
        if not isinstance(found, psycopg.Error) and (
            found or any(doc.conversation_id in state.written for doc in docs)
        ):
            self._pipelined().execute(_RELEASE)
            return False
        if not live:
            self._started(index, parsed.name)
            self.announced = index
            for number, count in held:
                state.conversation_checked(index, parsed.name, number, count)
        report = _new_report(parsed)
        if isinstance(found, psycopg.Error):
            self._finished(index, parsed.name, _refused(report, found))
            return True

        numbering = state.next_number
        if numbering is None:
            self.pause()  # the numbering lock is taken once per run, inside this file's savepoint
        written: dict[str, str] = {}
        items: list[dict[str, Any]] = []
        for doc, doc_rows in zip(docs, rows, strict=True):
            conversation = doc_rows.conversation
            assert conversation is not None
            conversation["conversation_number"] = state.take_number(self._session)
            items.append(_run_item(state, conversation["id"], doc.conversation_id, "inserted", parsed.name))
            _count_saved(report, written, doc, parsed.name)
        try:
            connection = self._pipelined()
            with psycopg.RawCursor(connection) as cursor:
                send_inserts(cursor, rows_by_table(rows))
            release = connection.execute(_RELEASE)
        except psycopg.Error as exc:
            blamed_in_flight = self._recover(exc)
            assert not blamed_in_flight, "nothing is in flight once this file's lookup has answered"
            state.next_number = numbering
            self._finished(index, parsed.name, _refused(report, exc))
            return True
        self._in_flight = _SentFile(index, report, written, items, numbering, release)
        return True

    def _send_lookup(self, params: dict[str, list[str]]) -> psycopg.Cursor[Any] | psycopg.Error:
        try:
            connection = self._pipelined()
            connection.execute(_SAVEPOINT)
            return connection.execute(_LOOKUP, params)
        except psycopg.Error as exc:
            if self._recover(exc):  # the file in flight failed: this file's statements were skipped
                return self._send_lookup(params)
            return exc

    def _fetch_lookup(self, sent: psycopg.Cursor[Any] | psycopg.Error, params: dict[str, list[str]]) -> Any:
        """The lookup's rows (the file in flight has then settled), or the error that refused this file."""
        if isinstance(sent, psycopg.Error):
            return sent
        try:
            found = sent.fetchall()
        except psycopg.Error as exc:
            if self._recover(exc):
                return self._fetch_lookup(self._send_lookup(params), params)
            return exc
        self._settle()
        return found

    def _recover(self, exc: psycopg.Error) -> bool:
        """After a database error: drain the pipeline and roll back to the savepoint. True when the error
        was the file in flight's (it is then settled as refused), False when it was the current file's."""
        assert self._pipeline is not None
        assert self._connection is not None
        try:
            self._pipeline.sync()
        except psycopg.errors.PipelineAborted:
            pass  # the statements sent after the error were skipped: that is what the rollback undoes
        self._connection.execute(_ROLLBACK)
        self._connection.execute(_RELEASE)
        self._pipeline.sync()
        sent = self._in_flight
        if sent is not None and sent.release.pgresult is None:
            self._in_flight = None
            self._state.next_number = sent.numbering
            self._finished(sent.index, sent.report.path, _refused(sent.report, exc))
            return True
        self._settle()
        return False

    def _settle(self) -> None:
        """The file in flight was written: every result up to its RELEASE arrived without an error."""
        sent = self._in_flight
        if sent is None:
            return
        assert sent.release.pgresult is not None
        self._in_flight = None
        self._state.written.update(sent.written)
        self._state.items.extend(sent.items)
        sent.report.status = "imported"
        self._finished(sent.index, sent.report.path, sent.report)


def imported_status(doc: ConversationDoc) -> str:
    return INCOMPLETE_STATUS if doc.incomplete else IMPORTED_STATUS


def _count_saved(report: FileReport, written: dict[str, str], doc: ConversationDoc, file: str) -> None:
    """A conversation of this file was written (on either path): count it in the report and remember it."""
    counts = saved_counts(doc)
    report.conversations += 1
    report.turns += counts.turns
    report.sentences += counts.sentences
    report.pairs_merged += doc.pairs_merged
    report.incomplete += int(doc.incomplete)
    report.open_endings += int(bool(doc.open_ending))
    report.conversation_ids.append(doc.conversation_id)
    written[doc.conversation_id] = file


def _new_report(parsed: ParsedSeed) -> FileReport:
    return FileReport(
        path=parsed.name,
        status="failed",
        layout=parsed.layout,
        repaired=parsed.repaired,
        warnings=list(parsed.warnings),
        errors=list(parsed.errors),
    )


def _refused(report: FileReport, exc: Exception) -> FileReport:
    """The report of a file the database refused (rolled back to its savepoint: nothing of it is written)."""
    _reset_counts(report)
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    detail = str(cause).strip().splitlines()[0] if cause is not None and str(cause).strip() else ""
    report.status = "failed"
    report.errors.append(
        Problem(
            file=report.path,
            code="database_refused",
            message=f"the database refused this file, nothing of it was written: {detail or type(exc).__name__}",
        )
    )
    return report


def _import_input(
    session: Session, item: SeedInput, parsed: ParsedSeed | None, state: _RunState, index: int
) -> FileReport:
    """The careful path: one file in its own ORM savepoint, waiting for each statement (plan rows,
    duplicates, replace, rejected files). New conversations usually take :class:`_PipelinedFiles`."""
    if isinstance(item, InputProblem) or parsed is None:
        message, code = (item.message, item.code) if isinstance(item, InputProblem) else ("was not read", "unread")
        return FileReport(path=item.name, status="failed", errors=[Problem(file=item.name, message=message, code=code)])
    report = _new_report(parsed)
    if not parsed.ok:
        return report
    written: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    numbering = state.next_number
    try:
        # Flushed explicitly where needed: autoflush before every query would only cost time here.
        with session.begin_nested(), session.no_autoflush:
            _write_file(session, parsed, state, report, written, items, index)
    except _FileRejected as exc:
        state.next_number = numbering
        _reset_counts(report)
        report.errors.extend(exc.problems)
        return report
    except (DBAPIError, psycopg.Error) as exc:
        state.next_number = numbering
        return _refused(report, exc)
    state.written.update(written)
    state.items.extend(items)
    report.status = "imported" if report.conversations else "duplicate"
    return report


def _reset_counts(report: FileReport) -> None:
    report.conversations = report.turns = report.sentences = report.duplicates = 0
    report.pairs_merged = report.incomplete = report.open_endings = 0
    report.conversation_ids = []
    report.duplicate_ids = []


def _write_file(
    session: Session,
    parsed: ParsedSeed,
    state: _RunState,
    report: FileReport,
    written: dict[str, str],
    items: list[dict[str, Any]],
    index: int,
) -> None:
    docs = parsed.docs
    found = driver_connection(session).execute(_LOOKUP, _lookup_params(docs)).fetchall()
    existing: dict[str, TrainingConversation] = {}
    turn_owners: dict[str, str] = {}
    slots: list[TrainingConversation] = []
    for kind, key, value in found:
        if kind == "turn":
            turn_owners[key] = value
        elif (row := session.get(TrainingConversation, uuid.UUID(value))) is None:
            continue
        elif kind == "plan":
            slots.append(row)
        else:
            existing[key] = row
    taken: set[object] = set(state.filled_slots)
    for doc in docs:
        if doc.conversation_id not in existing and doc.conversation_id not in state.written:
            slot = plan_match.plan_slot(doc, slots, taken)
            if slot is not None:
                existing[doc.conversation_id] = slot

    plans: list[tuple[ConversationDoc, str, TrainingConversation | None]] = []
    problems: list[Problem] = []
    for doc in docs:
        row = existing.get(doc.conversation_id)
        action = _decide(doc, row, state, parsed.name, report)
        if action is None:
            continue
        for issue in column_issues(doc):
            problems.append(Problem(file=parsed.name, code=issue.code, json_path=issue.path, message=issue.message))
        for turn_id, path in zip(doc.turn_ids(), doc.pair_paths, strict=True):
            owner = turn_owners.get(turn_id)
            reusable = owner == doc.conversation_id and action != "inserted"
            if owner is not None and not reusable:
                problems.append(
                    Problem(
                        file=parsed.name,
                        code="turn_id_taken",
                        json_path=f"{path}.id",
                        message=f"id {turn_id!r} is already used by a turn of conversation {owner!r}; turn ids "
                        "are unique across the dataset",
                    )
                )
        plans.append((doc, action, row))
    if problems:
        raise _FileRejected(problems)

    for number, (doc, action, row) in enumerate(plans, start=1):
        items.append(_save(session, doc, action, row, state, parsed.name))
        _count_saved(report, written, doc, parsed.name)
        state.conversation_checked(index, parsed.name, number, len(plans))


def _decide(
    doc: ConversationDoc, row: TrainingConversation | None, state: _RunState, file: str, report: FileReport
) -> str | None:
    """'inserted' | 'filled_plan' | 'replaced', or None for a duplicate (recorded on the report)."""
    earlier_file = state.written.get(doc.conversation_id)
    reason: str | None = None
    if earlier_file is not None:
        reason = f"conversation {doc.conversation_id} was already imported from {earlier_file} in this run; skipped"
    elif row is None:
        return "inserted"
    elif row.generation_status == PLANNED_STATUS:
        return "filled_plan"
    elif state.options.replace:
        return "replaced"
    else:
        reason = (
            f"conversation {doc.conversation_id} already exists (#{row.conversation_number}, "
            f"{row.generation_status}); skipped: import with replace to overwrite it"
        )
    report.duplicates += 1
    report.duplicate_ids.append(doc.conversation_id)
    report.skipped.append(Problem(file=file, code="duplicate", message=reason))
    return None


def _save(
    session: Session,
    doc: ConversationDoc,
    action: str,
    row: TrainingConversation | None,
    state: _RunState,
    file: str,
) -> dict[str, Any]:
    """Write one conversation; returns its run item (inserted with the others at the end of the run)."""
    previous_row = previous_export = previous_metrics = None
    if row is not None:
        previous_row = row_snapshot(row)
    if action == "replaced" and row is not None:
        previous_export = export_document(session=session, row=row)
        metrics = session.scalars(select(QualityMetrics).where(QualityMetrics.conversation_id == row.id)).one_or_none()
        previous_metrics = row_snapshot(metrics) if metrics else None
        clear_conversation_content(session, row.id)
    # A plan slot filled by a conversation with another id (matched by scaffolding) remembers the file's id.
    other_id = row is not None and row.conversation_id != doc.conversation_id
    if other_id:
        state.filled_slots.add(row.id if row is not None else None)
    saved = save_conversation(
        session,
        doc,
        user=state.user,
        status=imported_status(doc),
        generation_method=SEED_IMPORT_METHOD,
        measure=measure_document,
        plan_row=row,
        import_run_id=state.run_id,
        conversation_number=state.take_number(session) if row is None else None,
        source_file=file,
        extra={"source_conversation_id": doc.conversation_id} if other_id else None,
    )
    return _run_item(
        state,
        saved.id,
        doc.conversation_id,
        action,
        file,
        previous_row=previous_row,
        previous_export=previous_export,
        previous_metrics=previous_metrics,
    )


def _run_item(
    state: _RunState,
    conversation_row_id: uuid.UUID,
    conversation_id: str,
    action: str,
    file: str,
    *,
    previous_row: dict[str, Any] | None = None,
    previous_export: dict[str, Any] | None = None,
    previous_metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "run_id": state.run_id,
        "conversation_row_id": conversation_row_id,
        "conversation_id": conversation_id,
        "action": action,
        "source_file": file,
        "previous_row": previous_row,
        "previous_export": previous_export,
        "previous_metrics": previous_metrics,
    }
