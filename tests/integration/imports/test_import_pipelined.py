"""New conversations are written on a psycopg pipeline, the client one file ahead of the server: the same
rows, reports, numbering and progress events as the careful path, and a file the database refuses still
leaves nothing behind while the files around it go on, wherever in the run it fails."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from tests.helpers.documents import with_value
from tests.helpers.seed_files import good_seed, load_plan, table_counts, write_json
from training_data_studio.conversations.store import table_of
from training_data_studio.core.db import Database
from training_data_studio.imports import service
from training_data_studio.imports.runs import rollback_import
from training_data_studio.imports.schemas import ImportOptions, ProgressEvent
from training_data_studio.imports.service import import_paths
from training_data_studio.models import (
    EmotionalContext,
    ImportRunItem,
    QualityMetrics,
    ResponseBreakdown,
    ResponseStrategy,
    TrainingConversation,
    TrainingTurn,
)


def _good(folder: Path, conversation_id: str, turns: int = 2) -> Path:
    return write_json(folder, f"{conversation_id}.json", good_seed(conversation_id, turns))


def _refused(folder: Path, conversation_id: str, where: tuple[str | int, ...]) -> Path:
    """A valid document that PostgreSQL refuses (it cannot store NUL in text) at the table ``where`` is in."""
    document = with_value(good_seed(conversation_id, 2), where, "a\u0000b")
    return write_json(folder, f"{conversation_id}.json", document)


# The NUL is refused by the first statement of the file (the conversation row) or by a later one (the turns).
IN_CONVERSATION_ROW = ("training_pairs", 0, "conversation_metadata", "session_context")
IN_TURN_ROWS = ("training_pairs", 1, "target_response")


def _numbers(session: Session) -> dict[str, int]:
    rows = session.execute(select(TrainingConversation.conversation_id, TrainingConversation.conversation_number))
    return {conversation_id: number for conversation_id, number in rows}


def test_refused_files_anywhere_in_a_run_leave_nothing_and_the_others_go_on(session: Session, tmp_path: Path) -> None:
    paths = [
        _refused(tmp_path, "conv_first_bad", IN_TURN_ROWS),  # fails while the next file is being read
        _good(tmp_path, "conv_a"),
        _refused(tmp_path, "conv_middle_bad", IN_CONVERSATION_ROW),
        _good(tmp_path, "conv_b", 3),
        _refused(tmp_path, "conv_last_bad", IN_TURN_ROWS),  # fails after the last file was sent
    ]
    events: list[ProgressEvent] = []
    before = table_counts(session)

    summary = import_paths(session=session, paths=paths, user="dana", on_progress=events.append)

    assert [f.status for f in summary.files] == ["failed", "imported", "failed", "imported", "failed"]
    for report in (summary.files[0], summary.files[2], summary.files[4]):
        (error,) = report.errors
        assert error.code == "database_refused"
        assert "nothing of it was written" in error.message
        assert (report.conversations, report.turns, report.conversation_ids) == (0, 0, [])
    assert (summary.totals.conversations, summary.totals.turns, summary.totals.sentences) == (2, 5, 10)
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {
        "training_conversations": 2,
        "training_turns": 5,
        "emotional_context": 5,
        "response_strategies": 5,
        "response_breakdowns": 10,
        "quality_metrics": 2,
        "import_runs": 1,
        "import_run_items": 2,
    }
    # Numbers taken by a refused file are given back.
    assert _numbers(session) == {"conv_a": 1, "conv_b": 2}
    assert [(e.kind, e.index) for e in events if e.kind != "conversation_checked"] == [
        (kind, i) for i in range(1, 6) for kind in ("file_started", "file_finished")
    ]
    assert [e.report.status for e in events if e.report is not None] == [f.status for f in summary.files]


def test_a_run_mixing_plan_rows_duplicates_and_new_conversations(session: Session, tmp_path: Path) -> None:
    load_plan(session)
    planned = write_json(tmp_path, "planned.json", good_seed("fp_marcus_002", 2))
    paths = [
        _good(tmp_path, "conv_new_1"),
        planned,  # a plan row: the careful path
        _refused(tmp_path, "conv_bad", IN_TURN_ROWS),
        _good(tmp_path, "conv_new_2"),
        write_json(tmp_path, "again.json", good_seed("conv_new_1", 2)),  # imported earlier in this run
        _good(tmp_path, "conv_new_3"),
    ]
    plan_max = session.scalar(select(TrainingConversation.conversation_number).order_by(text("1 DESC")).limit(1))
    assert plan_max is not None

    summary = import_paths(session=session, paths=paths, user="dana")

    assert [f.status for f in summary.files] == ["imported", "imported", "failed", "imported", "duplicate", "imported"]
    numbers = _numbers(session)
    assert [numbers[f"conv_new_{n}"] for n in (1, 2, 3)] == [plan_max + 1, plan_max + 2, plan_max + 3]
    assert "conv_bad" not in numbers
    assert summary.run_id is not None
    items = session.scalars(select(ImportRunItem).where(ImportRunItem.run_id == summary.run_id)).all()
    assert sorted((i.conversation_id, i.action) for i in items) == [
        ("conv_new_1", "inserted"),
        ("conv_new_2", "inserted"),
        ("conv_new_3", "inserted"),
        ("fp_marcus_002", "filled_plan"),
    ]

    rolled_back = rollback_import(session, summary.run_id, user="dana")
    assert sorted(rolled_back.deleted) == ["conv_new_1", "conv_new_2", "conv_new_3"]
    assert rolled_back.restored_to_plan == ["fp_marcus_002"]


def test_a_dry_run_of_new_conversations_writes_nothing(session: Session, tmp_path: Path) -> None:
    before = table_counts(session)
    paths = [_good(tmp_path, "conv_a"), _refused(tmp_path, "conv_bad", IN_TURN_ROWS), _good(tmp_path, "conv_b")]
    summary = import_paths(session=session, paths=paths, user="dana", options=ImportOptions(dry_run=True))
    assert [f.status for f in summary.files] == ["imported", "failed", "imported"]
    assert table_counts(session) == before


def _content(session: Session, row_id: uuid.UUID) -> dict[str, Any]:
    """Every row of a conversation's content and its quality metrics, without ids and timestamps."""
    volatile = {"id", "turn_id", "conversation_id", "created_at", "updated_at", "computed_at", "content_tsv"}

    def rows(table: Table, where: Any) -> list[dict[str, Any]]:
        found = session.execute(select(table).where(where)).mappings().all()
        return sorted(
            ({k: v for k, v in row.items() if k not in volatile} for row in found),
            key=lambda row: sorted((k, str(v)) for k, v in row.items()),
        )

    turns = select(TrainingTurn.id).where(TrainingTurn.conversation_id == row_id)
    return {
        "turns": rows(table_of(TrainingTurn), TrainingTurn.conversation_id == row_id),
        "contexts": rows(table_of(EmotionalContext), EmotionalContext.turn_id.in_(turns)),
        "strategies": rows(table_of(ResponseStrategy), ResponseStrategy.turn_id.in_(turns)),
        "sentences": rows(table_of(ResponseBreakdown), ResponseBreakdown.turn_id.in_(turns)),
        "metrics": rows(table_of(QualityMetrics), QualityMetrics.conversation_id == row_id),
    }


def test_the_pipelined_path_stores_what_the_careful_path_stores(session: Session, tmp_path: Path) -> None:
    path = _good(tmp_path, "conv_same", 3)
    first = import_paths(session=session, paths=[path], user="dana")  # new: pipelined
    assert first.files[0].status == "imported"
    row_id = session.scalars(
        select(TrainingConversation.id).where(TrainingConversation.conversation_id == "conv_same")
    ).one()
    pipelined = _content(session, row_id)

    # Replacing it takes the careful path (save_conversation onto the existing row).
    again = import_paths(session=session, paths=[path], user="dana", options=ImportOptions(replace=True))
    assert again.run_id is not None
    (item,) = session.scalars(select(ImportRunItem).where(ImportRunItem.run_id == again.run_id)).all()
    assert item.action == "replaced"
    assert _content(session, row_id) == pipelined
    assert pipelined["metrics"][0]["checks"]


def test_a_lookup_the_database_refuses_fails_that_file_alone(
    database: Database, session: Session, tmp_path: Path
) -> None:
    """The lookup that locks a file's existing rows runs inside the file's savepoint: a lock timeout there
    refuses that file, not the run."""
    load_plan(session)
    session.commit()
    with database.session_scope() as other:
        other.execute(text("SELECT 1 FROM training_conversations WHERE conversation_id = 'fp_marcus_002' FOR UPDATE"))
        session.execute(text("SET LOCAL lock_timeout = '200ms'"))
        paths = [
            _good(tmp_path, "conv_a"),
            write_json(tmp_path, "locked.json", good_seed("fp_marcus_002", 2)),
            _good(tmp_path, "conv_b"),
        ]
        summary = import_paths(session=session, paths=paths, user="dana")
    assert [f.status for f in summary.files] == ["imported", "failed", "imported"]
    (error,) = summary.files[1].errors
    assert error.code == "database_refused"
    assert "lock" in error.message
    assert set(_numbers(session)) >= {"conv_a", "conv_b"}


def _refuse_late(session: Session) -> None:
    """Make the server refuse the turns of conversations named ``conv_late...`` only after a while: by then
    the client has sent the whole file and gone on with the next one."""
    session.execute(
        text(
            """
            CREATE FUNCTION test_refuse_late() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.turn_id LIKE 'conv\\_late%\\_turn1' THEN
                PERFORM pg_sleep(0.3);
                RAISE EXCEPTION 'refused late by a test trigger';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse_late BEFORE INSERT ON training_turns
              FOR EACH ROW EXECUTE FUNCTION test_refuse_late();
            """
        )
    )


def test_a_file_refused_after_the_client_moved_on_is_reported_and_undone(session: Session, tmp_path: Path) -> None:
    _refuse_late(session)
    paths = [
        _good(tmp_path, "conv_a"),
        _good(tmp_path, "conv_late_1"),  # refused while the next file's lookup waits behind it
        _good(tmp_path, "conv_b"),
        _good(tmp_path, "conv_late_2"),  # the last file: refused while the run waits for it
    ]
    before = table_counts(session)

    summary = import_paths(session=session, paths=paths, user="dana")

    assert [f.status for f in summary.files] == ["imported", "failed", "imported", "failed"]
    for report in (summary.files[1], summary.files[3]):
        (error,) = report.errors
        assert error.code == "database_refused"
        assert "refused late by a test trigger" in error.message
    after = table_counts(session)
    assert after["training_conversations"] - before["training_conversations"] == 2
    assert after["training_turns"] - before["training_turns"] == 4
    assert _numbers(session) == {"conv_a": 1, "conv_b": 2}


def test_a_refusal_that_arrives_while_the_next_file_is_sent(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error of the file in flight can surface on any later statement, here the next file's lookup:
    the client is held back (longer than the server takes to refuse) just before sending it."""
    _refuse_late(session)
    real = service._lookup_params

    def after_a_pause(docs: Any) -> dict[str, list[str]]:
        if docs[0].conversation_id == "conv_b":
            time.sleep(0.6)
        return real(docs)

    monkeypatch.setattr(service, "_lookup_params", after_a_pause)
    paths = [_good(tmp_path, "conv_a"), _good(tmp_path, "conv_late_1"), _good(tmp_path, "conv_b")]

    summary = import_paths(session=session, paths=paths, user="dana")

    assert [f.status for f in summary.files] == ["imported", "failed", "imported"]
    assert "refused late by a test trigger" in summary.files[1].errors[0].message
    assert _numbers(session) == {"conv_a": 1, "conv_b": 2}
