"""Import semantics: layouts, numbering outside the plan, duplicates and replace, dry runs, rollback rules,
progress events, the samples, `tds db seed`, and save_conversation as the generator will call it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers.documents import json_identical, make_conversation, make_multi_file, make_single_file, with_value
from tests.helpers.seed_files import good_seed, load_plan, table_counts, write_json
from training_data_studio.conversations.document import SeedFile, group_conversations
from training_data_studio.conversations.export import export_conversation
from training_data_studio.conversations.store import save_conversation
from training_data_studio.core.errors import AppError
from training_data_studio.imports.runs import get_run, list_runs, rollback_import
from training_data_studio.imports.schemas import ImportOptions, ProgressEvent
from training_data_studio.imports.service import import_paths
from training_data_studio.models import (
    ImportRunItem,
    QualityMetrics,
    TrainingConversation,
    TrainingTurn,
)
from training_data_studio.plan.seed import seed_default_data
from training_data_studio.plan.service import SAMPLES_DIR
from training_data_studio.quality.measure import measure_document

SAMPLE_IDS = ("sample_david_retire_001", "sample_jennifer_cards_001", "sample_marcus_equity_001")


def _row(session: Session, conversation_id: str) -> TrainingConversation:
    row = session.scalars(
        select(TrainingConversation).where(TrainingConversation.conversation_id == conversation_id)
    ).one()
    session.refresh(row)
    return row


def test_a_multi_layout_file_imports_each_conversation(session: Session, tmp_path: Path) -> None:
    document = make_multi_file([make_conversation("conv_a", 2), make_conversation("conv_b", 3)])
    summary = import_paths(session=session, paths=[write_json(tmp_path, "multi.json", document)], user="dana")
    assert (summary.totals.conversations, summary.totals.turns) == (2, 5)
    assert summary.files[0].layout == "multi"
    docs = group_conversations(SeedFile.model_validate(document))
    for doc in docs:
        assert json_identical(
            export_conversation(session=session, ident=doc.conversation_id), doc.to_single_file_dict()
        )
    exported = export_conversation(session=session, ident="conv_b")
    assert exported["conversation_metadata"]["conversation_id"] == "conv_b"
    assert exported["dataset_metadata"]["total_conversations"] == 1


def test_conversations_outside_the_plan_are_numbered_after_it(session: Session, tmp_path: Path) -> None:
    load_plan(session)
    files = [write_json(tmp_path, f"{name}.json", good_seed(name, 1)) for name in ("new_one", "new_two")]
    import_paths(session=session, paths=files, user="dana")
    first, second = _row(session, "new_one"), _row(session, "new_two")
    assert (first.conversation_number, second.conversation_number) == (101, 102)
    assert (first.tier, first.persona_type, first.persona_name) == ("tier1_template", "Mixed", "Test Client")
    assert first.topic_category == "Invented session for unit tests"
    items = session.scalars(select(ImportRunItem.action)).all()
    assert items == ["inserted", "inserted"]


def test_without_a_plan_numbering_starts_at_1(session: Session, tmp_path: Path) -> None:
    import_paths(session=session, paths=[write_json(tmp_path, "a.json", good_seed("conv_a", 1))], user="dana")
    assert _row(session, "conv_a").conversation_number == 1


def test_the_same_conversation_twice_in_one_run_is_a_duplicate(session: Session, tmp_path: Path) -> None:
    first = write_json(tmp_path, "a.json", good_seed("conv_a", 2))
    second = write_json(tmp_path, "a-again.json", good_seed("conv_a", 2))
    summary = import_paths(session=session, paths=[first, second], user="dana", options=ImportOptions(replace=True))
    assert [f.status for f in summary.files] == ["imported", "duplicate"]
    assert "already imported from" in summary.files[1].skipped[0].message


def test_replace_reimports_and_rollback_restores_the_previous_content(session: Session, tmp_path: Path) -> None:
    load_plan(session)
    original = good_seed("fp_marcus_002", 2)
    revised = with_value(good_seed("fp_marcus_002", 3), ("training_pairs", 0, "target_response"), "A revised reply.")
    first = import_paths(session=session, paths=[write_json(tmp_path, "v1.json", original)], user="dana")
    metrics_v1 = session.scalars(select(QualityMetrics.id)).one()

    skipped = import_paths(session=session, paths=[write_json(tmp_path, "v2.json", revised)], user="dana")
    assert skipped.totals.duplicates == 1
    replaced = import_paths(
        session=session, paths=[tmp_path / "v2.json"], user="dana", options=ImportOptions(replace=True)
    )
    assert replaced.totals.conversations == 1
    row = _row(session, "fp_marcus_002")
    assert (row.conversation_number, row.turn_count, row.import_run_id) == (1, 3, replaced.run_id)
    assert json_identical(export_conversation(session=session, ident="fp_marcus_002"), revised)
    assert session.scalars(select(ImportRunItem.action).where(ImportRunItem.run_id == replaced.run_id)).one() == (
        "replaced"
    )

    with pytest.raises(AppError) as refused:
        rollback_import(session, first.run_id, user="dana")  # type: ignore[arg-type]
    assert refused.value.status == 409
    assert "later run(s)" in refused.value.message
    assert "fp_marcus_002" in refused.value.message

    rollback_import(session, replaced.run_id, user="dana")  # type: ignore[arg-type]
    row = _row(session, "fp_marcus_002")
    assert (row.turn_count, row.generation_status, row.import_run_id) == (2, "approved", first.run_id)
    assert json_identical(export_conversation(session=session, ident="fp_marcus_002"), original)
    assert session.scalars(select(QualityMetrics.id)).one() == metrics_v1

    rollback_import(session, first.run_id, user="dana")  # type: ignore[arg-type]
    row = _row(session, "fp_marcus_002")
    assert (row.generation_status, row.turn_count, row.conversation_number) == ("planned", 0, 1)
    assert session.scalars(select(TrainingTurn.id)).all() == []


def test_rollback_deletes_inserted_conversations_and_cannot_run_twice(session: Session, tmp_path: Path) -> None:
    before = table_counts(session)
    summary = import_paths(session=session, paths=[write_json(tmp_path, "a.json", good_seed("conv_a", 2))], user="dana")
    assert summary.run_id is not None
    result = rollback_import(session, summary.run_id, user="erin")
    assert result.deleted == ["conv_a"]
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {
        k: {"import_runs": 1, "import_run_items": 1}.get(k, 0) for k in after
    }
    run = get_run(session=session, run_id=summary.run_id)
    assert run.status == "rolled_back"
    assert run.rolled_back_at is not None
    with pytest.raises(AppError, match="already rolled back") as again:
        rollback_import(session, summary.run_id, user="erin")
    assert again.value.status == 409
    with pytest.raises(AppError) as unknown:
        rollback_import(session, uuid.uuid4(), user="erin")
    assert unknown.value.status == 404


def test_a_dry_run_validates_and_writes_nothing(session: Session, tmp_path: Path) -> None:
    load_plan(session)
    before = table_counts(session)
    files = [
        write_json(tmp_path, "a.json", good_seed("fp_marcus_002", 2)),
        write_json(tmp_path, "b.json", good_seed("conv_new", 1)),
        write_json(tmp_path, "bad.json", with_value(good_seed("conv_bad"), ("training_pairs", 0, "turn_number"), 0)),
    ]
    summary = import_paths(session=session, paths=files, user="dana", options=ImportOptions(dry_run=True))
    assert summary.dry_run
    assert summary.run_id is None
    assert [f.status for f in summary.files] == ["imported", "imported", "failed"]
    assert (summary.totals.conversations, summary.totals.turns) == (2, 3)
    assert table_counts(session) == before
    assert _row(session, "fp_marcus_002").generation_status == "planned"


def test_progress_events_come_in_pairs_per_file(session: Session, tmp_path: Path) -> None:
    files = [write_json(tmp_path, f"{n}.json", good_seed(f"conv_{n}", 1)) for n in ("a", "b")]
    events: list[ProgressEvent] = []
    import_paths(session=session, paths=files, user="dana", on_progress=events.append)
    # Each file's conversations are reported between its start and its end, in order.
    assert [(e.kind, e.index, e.total, e.conversation) for e in events] == [
        ("file_started", 1, 2, None),
        ("conversation_checked", 1, 2, 1),
        ("file_finished", 1, 2, None),
        ("file_started", 2, 2, None),
        ("conversation_checked", 2, 2, 1),
        ("file_finished", 2, 2, None),
    ]
    assert events[2].report is not None
    assert events[2].report.turns == 1


def test_runs_are_listed_newest_first(session: Session, tmp_path: Path) -> None:
    first = import_paths(session=session, paths=[write_json(tmp_path, "a.json", good_seed("conv_a", 1))], user="dana")
    second = import_paths(session=session, paths=[tmp_path / "missing.json"], user="erin")
    runs = list_runs(session=session)
    assert [r.run_id for r in runs] == [second.run_id, first.run_id]
    assert [r.status for r in runs] == ["failed", "completed"]
    detail = get_run(session=session, run_id=second.run_id)  # type: ignore[arg-type]
    assert detail.files[0].errors[0].text == f"{tmp_path / 'missing.json'}: does not exist"
    assert detail.created_by == "erin"


def test_the_samples_import_cleanly_after_the_plan(session: Session) -> None:
    load_plan(session)
    summary = import_paths(session=session, paths=[SAMPLES_DIR], user="dana")
    assert (summary.totals.conversations, summary.totals.errors) == (3, 0)
    assert [_row(session, cid).conversation_number for cid in SAMPLE_IDS] == [101, 102, 103]
    assert [_row(session, cid).persona_type for cid in SAMPLE_IDS] == ["David", "Jennifer", "Marcus"]


def test_seeding_twice_changes_nothing_the_second_time(session: Session) -> None:
    first = seed_default_data(session, user="dana")
    assert (first.plan_rows_added, first.samples_imported) == (100, 3)
    assert first.notes == []
    before = table_counts(session)
    second = seed_default_data(session, user="dana")
    assert (second.templates_added, second.plan_rows_added, second.samples_imported) == (0, 0, 0)
    assert table_counts(session) == before
    assert [_row(session, cid).conversation_number for cid in SAMPLE_IDS] == [101, 102, 103]


def test_save_conversation_as_the_generator_uses_it(session: Session) -> None:
    load_plan(session)
    (doc,) = group_conversations(SeedFile.model_validate(good_seed("fp_marcus_011", 3)))
    plan_row = _row(session, "fp_marcus_011")
    saved = save_conversation(
        session,
        doc,
        measure=measure_document,
        user="worker",
        status="generated",
        generation_method="llm_template",
        plan_row=plan_row,
        extra={"generation_model": "test-model", "input_tokens": 1200},
    )
    assert saved.id == plan_row.id
    row = _row(session, "fp_marcus_011")
    assert (row.generation_status, row.generation_method, row.generation_model) == (
        "generated",
        "llm_template",
        "test-model",
    )
    assert (row.conversation_number, row.turn_count, row.tier_template) == (11, 3, "confusion_to_clarity")
    assert session.scalars(select(QualityMetrics.total_turns)).one() == 3


def test_save_conversation_refuses_values_that_do_not_fit(session: Session) -> None:
    document = with_value(
        good_seed("conv_a", 1), ("training_pairs", 0, "emotional_context", "detected_emotions", "primary"), "x" * 60
    )
    (doc,) = group_conversations(SeedFile.model_validate(document))
    with pytest.raises(AppError) as refused:
        save_conversation(session, doc, measure=measure_document, user="w", status="generated", generation_method="llm")
    assert refused.value.status == 422
    assert "$.training_pairs[0].emotional_context.detected_emotions.primary" in refused.value.message


def test_a_planned_row_cannot_be_exported(session: Session) -> None:
    load_plan(session)
    with pytest.raises(AppError) as refused:
        export_conversation(session=session, ident="fp_marcus_002")
    assert refused.value.status == 409
    assert "has no turns yet" in refused.value.message
    with pytest.raises(AppError) as missing:
        export_conversation(session=session, ident="no_such_conversation")
    assert missing.value.status == 404


def test_single_file_with_two_conversations_imports_both(session: Session, tmp_path: Path) -> None:
    document = make_single_file(make_conversation("conv_a", 2) + make_conversation("conv_b", 1))
    summary = import_paths(session=session, paths=[write_json(tmp_path, "two.json", document)], user="dana")
    assert summary.files[0].conversation_ids == ["conv_a", "conv_b"]
    exported = export_conversation(session=session, ident="conv_b")
    assert exported["dataset_metadata"]["total_turns"] == 1
    assert len(exported["training_pairs"]) == 1
