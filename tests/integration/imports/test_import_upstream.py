"""The user's real seed files, read in place: they fill their plan rows, export back to themselves, and a run
rolls back to exactly the database it started from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers.documents import json_identical
from tests.helpers.seed_files import (
    UPSTREAM_BROKEN,
    UPSTREAM_IDS,
    load_plan,
    table_counts,
    upstream_good_files,
)
from training_data_studio.conversations.export import export_conversation
from training_data_studio.imports.runs import rollback_import
from training_data_studio.imports.schemas import ImportOptions
from training_data_studio.imports.service import import_paths
from training_data_studio.models import ImportRunItem, TrainingConversation


def _conversation_rows(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(TrainingConversation).order_by(TrainingConversation.conversation_number)).all()
    skip = {"updated_at"}
    return {
        row.conversation_id: {c.key: getattr(row, c.key) for c in TrainingConversation.__mapper__.column_attrs}
        | dict.fromkeys(skip)
        for row in rows
    }


def test_files_01_to_09_fill_their_plan_rows(session: Session, upstream_seeds: Path) -> None:
    load_plan(session)
    summary = import_paths(session=session, paths=upstream_good_files(upstream_seeds), user="dana")

    assert summary.status == "completed"
    totals = summary.totals
    assert (totals.conversations, totals.turns, totals.sentences, totals.errors) == (9, 35, 273, 0)
    assert [r.status for r in summary.files] == ["imported"] * 9
    counts = table_counts(session)
    assert counts["training_conversations"] == 100  # filled in place, nothing added
    assert (counts["training_turns"], counts["emotional_context"], counts["response_strategies"]) == (35, 35, 35)
    assert counts["response_breakdowns"] == 273
    assert counts["quality_metrics"] == 9

    rows = session.scalars(
        select(TrainingConversation).where(TrainingConversation.conversation_id.in_(UPSTREAM_IDS))
    ).all()
    by_id = {row.conversation_id: row for row in rows}
    assert [by_id[cid].conversation_number for cid in UPSTREAM_IDS] == list(range(1, 10))
    for row in rows:
        assert row.generation_status == "approved"
        assert row.generation_method == "seed_import"
        assert row.tier == "tier1_template"
        assert row.tier_template
        assert row.template_id is not None
        assert row.persona_name in ("Marcus Thompson", "Jennifer Park", "David Chen")  # the plan's name
        assert row.is_seed_example
        assert row.use_for_variations
        assert row.human_reviewed
        assert row.quality_score == 5
        assert row.import_run_id == summary.run_id
    assert [by_id[cid].turn_count for cid in UPSTREAM_IDS] == [3, 4, 4, 5, 4, 4, 3, 4, 4]
    actions = session.scalars(select(ImportRunItem.action).where(ImportRunItem.run_id == summary.run_id)).all()
    assert actions == ["filled_plan"] * 9


def test_file_10_is_refused_by_default_and_imports_with_repair(session: Session, upstream_seeds: Path) -> None:
    load_plan(session)
    before = table_counts(session)
    path = upstream_seeds / UPSTREAM_BROKEN

    refused = import_paths(session=session, paths=[path], user="dana")
    assert refused.status == "failed"
    (error,) = refused.files[0].errors
    assert (error.line, error.column) == (420, 52)
    assert error.text.startswith(f"{path}: line 420, column 52: ")
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {k: int(k == "import_runs") for k in after}

    repaired = import_paths(session=session, paths=[path], user="dana", options=ImportOptions(repair=True))
    assert repaired.status == "completed"
    totals = repaired.totals
    assert (totals.conversations, totals.turns, totals.sentences, totals.errors) == (1, 3, 35, 0)
    notes = [w for w in repaired.files[0].warnings if w.code == "json_repaired"]
    assert len(notes) == 1
    assert "line 420, column 52" in notes[0].text
    assert "`lists all numbers` became the string 'lists all numbers'" in notes[0].text
    row = session.scalars(select(TrainingConversation).where(TrainingConversation.conversation_id == "fp_david_002"))
    assert row.one().conversation_number == 10


def test_importing_the_same_files_again_reports_duplicates_and_writes_nothing(
    session: Session, upstream_seeds: Path
) -> None:
    load_plan(session)
    files = upstream_good_files(upstream_seeds)
    import_paths(session=session, paths=files, user="dana")
    before = table_counts(session)
    rows_before = _conversation_rows(session)

    again = import_paths(session=session, paths=files, user="dana")
    assert again.status == "completed"
    assert (again.totals.conversations, again.totals.duplicates) == (0, 9)
    assert [r.status for r in again.files] == ["duplicate"] * 9
    assert "already exists (#1, approved); skipped" in again.files[0].skipped[0].message
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {k: int(k == "import_runs") for k in after}
    assert _conversation_rows(session) == rows_before


def test_export_of_each_file_deep_equals_the_source(session: Session, upstream_seeds: Path) -> None:
    load_plan(session)
    files = upstream_good_files(upstream_seeds)
    import_paths(session=session, paths=files, user="dana")
    for path, conversation_id in zip(files, UPSTREAM_IDS, strict=True):
        source = json.loads(path.read_text(encoding="utf-8"))
        exported = export_conversation(session=session, ident=conversation_id)
        assert json_identical(exported, source), path.name
        row_id = session.scalars(
            select(TrainingConversation.id).where(TrainingConversation.conversation_id == conversation_id)
        ).one()
        assert json_identical(export_conversation(session=session, ident=str(row_id)), source)


@pytest.mark.parametrize("with_repair", [False, True])
def test_rollback_restores_the_plan_rows_and_deletes_everything_else(
    session: Session, upstream_seeds: Path, with_repair: bool
) -> None:
    load_plan(session)
    before = table_counts(session)
    rows_before = _conversation_rows(session)
    paths = [*upstream_good_files(upstream_seeds), upstream_seeds / UPSTREAM_BROKEN]
    summary = import_paths(session=session, paths=paths, user="dana", options=ImportOptions(repair=with_repair))
    assert summary.totals.conversations == (10 if with_repair else 9)
    assert summary.run_id is not None

    result = rollback_import(session, summary.run_id, user="dana")
    assert len(result.restored_to_plan) == summary.totals.conversations
    after = table_counts(session)
    # The run and its items stay as history; every dataset table is back to what it was.
    assert {k: after[k] - before[k] for k in after} == {
        k: {"import_runs": 1, "import_run_items": summary.totals.conversations}.get(k, 0) for k in after
    }
    assert _conversation_rows(session) == rows_before
