"""The user's later layouts into the database: the v4 training file, its JSON Lines and a generated file read
in place, plus our own lean, partial and mismatched files. Stored turns are real exchanges (never an empty
reply), absent blocks are absent, declared totals are warnings, re-import is a no-op and every conversation
exports back to its source block."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.helpers.documents import json_identical
from tests.helpers.later_layouts import (
    make_block,
    make_generated_file,
    make_half_pair_conversation,
    make_jsonl,
    make_lean_pair,
    make_training_file,
    message,
    reply,
)
from tests.helpers.seed_files import load_plan, table_counts, write_json, write_text
from training_data_studio.conversations.export import export_conversation
from training_data_studio.imports.runs import rollback_import
from training_data_studio.imports.service import import_paths
from training_data_studio.models import QualityMetrics, TrainingConversation, TrainingTurn

V4_EXAMPLE = "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json"
V4_JSONL = "c-alpha-build_v3.4_emotional-dataset-full-JSON-format_v4.jsonl"
ENRICHED = "enriched-2.json"


def _turns(session: Session, conversation_id: str) -> list[TrainingTurn]:
    return list(
        session.scalars(
            select(TrainingTurn)
            .join(TrainingConversation, TrainingConversation.id == TrainingTurn.conversation_id)
            .where(TrainingConversation.conversation_id == conversation_id)
            .order_by(TrainingTurn.turn_number)
        ).all()
    )


def _row(session: Session, conversation_id: str) -> TrainingConversation:
    return session.scalars(
        select(TrainingConversation).where(TrainingConversation.conversation_id == conversation_id)
    ).one()


def _block_of(exported: dict[str, Any]) -> dict[str, Any]:
    return {"conversation_metadata": exported["conversation_metadata"], "training_pairs": exported["training_pairs"]}


def test_the_v4_example_imports_three_conversations_of_real_exchanges(session: Session, upstream_seeds: Path) -> None:
    path = upstream_seeds / V4_EXAMPLE
    source = json.loads(path.read_text(encoding="utf-8"))

    summary = import_paths(session=session, paths=[path], user="dana")

    (report,) = summary.files
    assert report.status == "imported", [e.text for e in report.errors]
    assert report.layout == "training_file"
    blocks = source["conversations"]
    nulls = sum(1 for b in blocks for p in b["training_pairs"] if p["target_response"] is None)
    replies = [[p for p in b["training_pairs"] if p["target_response"]] for b in blocks]
    assert report.conversations == len(blocks)
    assert report.pairs_merged == nulls
    assert report.turns == sum(len(r) for r in replies)
    empty = session.execute(
        select(func.count()).select_from(TrainingTurn).where(func.length(func.trim(TrainingTurn.target_response)) == 0)
    ).scalar_one()
    assert empty == 0
    for block, with_reply in zip(blocks, replies, strict=True):
        conversation_id = block["conversation_metadata"]["conversation_id"]
        turns = _turns(session, conversation_id)
        assert [(t.user_input, t.target_response) for t in turns] == [
            (p["current_user_input"], p["target_response"]) for p in with_reply
        ]
        assert [t.turn_number for t in turns] == list(range(1, len(turns) + 1))
        row = _row(session, conversation_id)
        assert row.scaffolding is not None
        assert row.scaffolding["persona_key"] == block["conversation_metadata"]["scaffolding"]["persona_key"]
        assert row.source_file == str(path)
        declared = block["conversation_metadata"]["total_turns"]
        assert row.generation_status == ("incomplete" if declared > len(block["training_pairs"]) else "approved")
        # The round trip: the exported conversation holds the source block exactly, half pairs included.
        assert json_identical(_block_of(export_conversation(session=session, ident=conversation_id)), block)
    # Lean annotation: no strategy or breakdown rows were invented.
    counts = table_counts(session)
    assert (counts["response_strategies"], counts["response_breakdowns"]) == (0, 0)
    assert counts["emotional_context"] == report.turns


def test_re_importing_the_v4_example_changes_nothing(session: Session, upstream_seeds: Path) -> None:
    path = upstream_seeds / V4_EXAMPLE
    import_paths(session=session, paths=[path], user="dana")
    before = table_counts(session)

    again = import_paths(session=session, paths=[path], user="dana")

    (report,) = again.files
    assert report.status == "duplicate"
    assert report.conversations == 0
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {k: int(k == "import_runs") for k in after}


def test_the_v4_json_lines_import_the_same_exchanges(session: Session, upstream_seeds: Path) -> None:
    source = json.loads((upstream_seeds / V4_EXAMPLE).read_text(encoding="utf-8"))
    summary = import_paths(session=session, paths=[upstream_seeds / V4_JSONL], user="dana")

    (report,) = summary.files
    assert report.status == "imported", [e.text for e in report.errors]
    assert report.layout == "jsonl"
    assert any(w.code == "declared_count_mismatch" and w.line == 1 for w in report.warnings)
    for block in source["conversations"]:
        conversation_id = block["conversation_metadata"]["conversation_id"]
        expected = [
            (p["current_user_input"], p["target_response"]) for p in block["training_pairs"] if p["target_response"]
        ]
        assert [(t.user_input, t.target_response) for t in _turns(session, conversation_id)] == expected


def test_the_enriched_file_keeps_its_input_parameters_and_round_trips(session: Session, upstream_seeds: Path) -> None:
    path = upstream_seeds / ENRICHED
    source = json.loads(path.read_text(encoding="utf-8"))

    (report,) = import_paths(session=session, paths=[path], user="dana").files

    assert report.status == "imported", [e.text for e in report.errors]
    (conversation_id,) = report.conversation_ids
    row = _row(session, conversation_id)
    assert row.source_envelope is not None
    assert row.source_envelope["input_parameters"] == source["input_parameters"]
    assert all(t.target_response.strip() for t in _turns(session, conversation_id))
    assert json_identical(export_conversation(session=session, ident=conversation_id), source)


def test_a_lean_conversation_stores_no_invented_blocks_and_needs_review(session: Session, tmp_path: Path) -> None:
    conversation_id = "5e0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
    pairs = make_half_pair_conversation("saving", 2, open_ending=True)
    pairs[1]["emotional_context"]["detected_emotions"] = {"primary": "doubt", "intensity": 0.7}
    document = make_training_file([make_block(pairs, conversation_id=conversation_id)])
    path = write_json(tmp_path, "lean.json", document)

    (report,) = import_paths(session=session, paths=[path], user="dana").files

    assert report.status == "imported", [e.text for e in report.errors]
    assert (report.pairs_merged, report.open_endings, report.turns) == (2, 1, 2)
    row = _row(session, conversation_id)
    assert row.open_ending == [pairs[-1]]
    assert row.persona_type == "Mixed"
    assert row.topic_category == "Building a Rainy-Day Fund"
    assert row.tier_template == "doubt_to_resolve"
    context = session.execute(
        text(
            "SELECT e.primary_confidence, e.valence, e.client_needs, e.emotional_indicators FROM emotional_context e "
            "JOIN training_turns t ON t.id = e.turn_id WHERE t.turn_id = :turn"
        ),
        {"turn": f"{conversation_id}/saving_turn2"},
    ).one()
    assert tuple(context) == (None, None, None, None)
    metrics = session.scalars(select(QualityMetrics).where(QualityMetrics.conversation_id == row.id)).one()
    assert metrics.needs_review
    assert not metrics.ready_for_training
    lean = next(check for check in metrics.checks or [] if check["key"] == "annotation_blocks_present")
    assert lean["passed"] is False
    lean_issues = [issue["message"] for issue in metrics.issues or [] if issue["check"] == "annotation_blocks_present"]
    assert lean_issues[0].startswith("Lean annotation on turn 1: no emotional_context.emotional_indicators")
    assert "response_strategy" in lean_issues[0]
    exported = export_conversation(session=session, ident=conversation_id)
    assert json_identical(exported["training_pairs"], pairs)


def test_declared_totals_that_disagree_import_with_warnings_and_the_real_counts(
    session: Session, tmp_path: Path
) -> None:
    blocks = [
        make_block(make_half_pair_conversation("alpha", 2)),
        make_block(make_half_pair_conversation("beta", 1)),
        make_block([make_lean_pair("gamma", 1, user_input=message(1), target=reply(1))], declared_turns=4),
    ]
    document = make_training_file(blocks, declared_conversations=10, declared_pairs=38)
    path = write_json(tmp_path, "claims.json", document)

    summary = import_paths(session=session, paths=[path], user="dana")

    (report,) = summary.files
    assert report.status == "imported"
    assert (report.conversations, report.turns, report.incomplete) == (3, 4, 1)
    messages = [w.message for w in report.warnings]
    assert any("declares 10 conversations but the file holds 3" in m for m in messages)
    assert any("declares 38 training pairs but the file holds 7" in m for m in messages)
    assert any("declares 4 turns but the conversation has 1 training pairs" in m for m in messages)
    partial = _row(session, blocks[2]["conversation_metadata"]["conversation_id"])
    assert (partial.generation_status, partial.turn_count, partial.turn_count_target) == ("incomplete", 1, 4)
    exported = export_conversation(session=session, ident=partial.conversation_id)
    assert exported["conversation_metadata"]["total_turns"] == 4


def test_repeated_pair_ids_across_files_and_conversations_all_import(session: Session, tmp_path: Path) -> None:
    first = make_training_file([make_block(make_half_pair_conversation("therapy", 1)) for _ in range(2)])
    second = make_generated_file(make_half_pair_conversation("therapy", 2), "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
    paths = [write_json(tmp_path, "first.json", first), write_json(tmp_path, "second.json", second)]

    summary = import_paths(session=session, paths=paths, user="dana")

    assert [r.status for r in summary.files] == ["imported", "imported"]
    assert summary.totals.turns == 4
    turn_ids = session.scalars(select(TrainingTurn.turn_id)).all()
    assert len(set(turn_ids)) == 4
    assert all(turn_id.endswith(("therapy_turn2", "therapy_turn4")) for turn_id in turn_ids)


def test_a_refused_json_lines_file_writes_nothing_and_names_the_line(session: Session, tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 1, conversation_id="c1a2b3c4-0000-4000-8000-0000000000aa")
    pairs[1]["emotional_context"]["detected_emotions"]["intensity"] = 7
    path = write_text(tmp_path, "bad.jsonl", make_jsonl(pairs, meta={"total_pairs": 2}))
    before = table_counts(session)

    (report,) = import_paths(session=session, paths=[path], user="dana").files

    assert report.status == "failed"
    (error,) = report.errors
    assert (error.line, error.json_path) == (3, "$.emotional_context.detected_emotions.intensity")
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {k: int(k in ("import_runs",)) for k in after}


def test_a_training_file_of_megabytes_imports_whole(session: Session, tmp_path: Path) -> None:
    # More than 500 KB of turns in one file: sent as one INSERT on the pipeline, that never finished over the
    # embedded server's unix socket; the writer now keeps each statement small.
    filler = " Invented filler sentence for a long reply." * 800
    blocks = [make_block(make_half_pair_conversation(f"topic{n}", 3)) for n in range(10)]
    for block in blocks:
        for pair in block["training_pairs"]:
            if pair["target_response"]:
                pair["target_response"] += filler
    path = write_json(tmp_path, "big.json", make_training_file(blocks))
    assert path.stat().st_size > 1_000_000

    (report,) = import_paths(session=session, paths=[path], user="dana").files

    assert report.status == "imported", [e.text for e in report.errors]
    assert (report.conversations, report.turns, report.pairs_merged) == (10, 30, 30)
    assert session.execute(select(func.count()).select_from(TrainingTurn)).scalar_one() == 30


def _scaffolded_block(persona_name: str, persona_key: str, arc: str, topic_key: str) -> dict[str, Any]:
    block = make_block(make_half_pair_conversation("matching", 2))
    block["conversation_metadata"]["scaffolding"] = {
        "persona_key": persona_key,
        "persona_name": persona_name,
        "emotional_arc_key": arc,
        "training_topic_key": topic_key,
        "training_topic": "An invented topic title",
    }
    return block


def test_scaffolding_fills_a_fitting_plan_slot_else_adds_an_extra_conversation(
    session: Session, tmp_path: Path
) -> None:
    load_plan(session)
    slot = session.scalars(
        select(TrainingConversation).where(
            TrainingConversation.persona_type == "David",
            TrainingConversation.tier_template == "shame_to_acceptance",
            TrainingConversation.topic_category.ilike("hiding financial problems%"),
        )
    ).one()
    fitting = _scaffolded_block(
        "David Invented - The Pragmatic Optimist",
        "pragmatic_optimist",
        "shame_to_acceptance",
        "hiding_financial_problems",
    )
    no_fit = _scaffolded_block(
        "Robin Vale - The Careful Saver", "careful_saver", "shame_to_acceptance", "hiding_financial_problems"
    )
    path = write_json(tmp_path, "scaffolded.json", make_training_file([fitting, no_fit]))
    planned_rows = table_counts(session)["training_conversations"]

    first_run = import_paths(session=session, paths=[path], user="dana")

    (report,) = first_run.files
    assert report.status == "imported", [e.text for e in report.errors]
    fitting_id = fitting["conversation_metadata"]["conversation_id"]
    session.refresh(slot)
    assert (slot.generation_status, slot.source_conversation_id) == ("approved", fitting_id)
    assert slot.conversation_id.startswith("fp_david_")
    assert [t.turn_id for t in _turns(session, slot.conversation_id)] == [
        f"{fitting_id}/matching_turn2",
        f"{fitting_id}/matching_turn4",
    ]
    extra = _row(session, no_fit["conversation_metadata"]["conversation_id"])
    assert (extra.persona_type, extra.source_file) == ("Mixed", str(path))
    assert extra.scaffolding is not None
    assert extra.scaffolding["persona_key"] == "careful_saver"
    assert table_counts(session)["training_conversations"] == planned_rows + 1
    assert json_identical(
        export_conversation(session=session, ident=fitting_id)["training_pairs"], fitting["training_pairs"]
    )

    before = table_counts(session)
    second_run = import_paths(session=session, paths=[path], user="dana")
    (again,) = second_run.files
    assert (again.status, again.duplicates) == ("duplicate", 2)
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {k: int(k == "import_runs") for k in after}

    # Rolling the first run back gives the slot back to the plan and removes the extra conversation.
    assert first_run.run_id is not None
    rollback_import(session, first_run.run_id, user="dana")
    session.refresh(slot)
    assert (slot.generation_status, slot.source_conversation_id, slot.turn_count) == ("planned", None, 0)
    assert table_counts(session)["training_conversations"] == planned_rows


def test_a_conversation_of_seven_exchanges_imports(session: Session, tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("long", 7)
    path = write_json(tmp_path, "long.json", make_training_file([make_block(pairs)]))

    (report,) = import_paths(session=session, paths=[path], user="dana").files

    assert report.status == "imported", [e.text for e in report.errors]
    assert report.turns == 7
    (conversation_id,) = report.conversation_ids
    assert [t.turn_number for t in _turns(session, conversation_id)] == list(range(1, 8))
