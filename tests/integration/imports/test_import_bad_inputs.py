"""Each bad input is a clear per-file error, nothing of that file is written, and a good file in the same
run is imported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers.documents import make_conversation, make_single_file, with_value
from tests.helpers.seed_files import good_seed, load_plan, table_counts, write_json, write_text
from training_data_studio.imports.service import import_paths
from training_data_studio.models import TrainingConversation, TrainingTurn

BadInput = Callable[[Path], Path]


def _empty(folder: Path) -> Path:
    return write_text(folder, "empty.json", "")


def _not_json(folder: Path) -> Path:
    return write_text(folder, "notes.json", "Dear team,\nhere are the seeds.\n")


def _wrong_shape(folder: Path) -> Path:
    return write_json(folder, "shape.json", [{"id": "conv_x_turn1"}])


def _huge(folder: Path) -> Path:
    path = folder / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse
    return path


def _turn_9(folder: Path) -> Path:
    return write_json(folder, "turn9.json", with_value(good_seed("conv_bad"), ("training_pairs", 1, "turn_number"), 0))


def _score_7_5(folder: Path) -> Path:
    pairs = make_conversation("conv_bad", 3)
    pairs[2]["training_metadata"]["quality_score"] = 7.5
    return write_json(folder, "score.json", make_single_file(pairs))


def _long_id(folder: Path) -> Path:
    return write_json(folder, "long.json", good_seed("x" * 500, 1))


def _empty_directory(folder: Path) -> Path:
    path = folder / "nothing-here"
    path.mkdir()
    (path / "readme.txt").write_text("no seeds", encoding="utf-8")
    return path


def _latin1(folder: Path) -> Path:
    raw = json.dumps(good_seed("conv_bad"), indent=2).encode("utf-8").replace(b"Test user message", b"Caf\xe9 message")
    return write_text(folder, "latin1.json", raw)


def _missing(folder: Path) -> Path:
    return folder / "no-such-file.json"


def _nul_in_text(folder: Path) -> Path:
    # Valid JSON and a valid document, but PostgreSQL cannot store NUL in text: refused by the database after
    # the conversation row was written, so the savepoint must take that row back.
    return write_json(
        folder, "nul.json", with_value(good_seed("conv_bad"), ("training_pairs", 1, "target_response"), "a\u0000b")
    )


CASES: list[tuple[BadInput, str, str]] = [
    (_empty, "empty.json", "empty.json: file is empty"),
    (_not_json, "notes.json", "notes.json: line 1, column 1: $: is not valid JSON: Expecting value"),
    (_wrong_shape, "shape.json", "shape.json: $: is not a seed file of a known layout; expected {dataset_metadata"),
    (_huge, "huge.json", "huge.json: file is 50.0 MB; the limit is 20 MB"),
    (
        _turn_9,
        "turn9.json",
        "turn9.json: $.training_pairs[1].turn_number: must be a whole number of at least 1 (got 0)",
    ),
    (
        _score_7_5,
        "score.json",
        "score.json: $.training_pairs[2].training_metadata.quality_score: must be between 1 and 5 (got 7.5)",
    ),
    (_long_id, "long.json", "long.json: $.training_pairs[0].conversation_id: is 500 characters long"),
    (_empty_directory, "nothing-here", "nothing-here: directory contains no .json or .jsonl files"),
    (_latin1, "latin1.json", "latin1.json: is not UTF-8 text: byte 0xe9 at byte offset "),
    (_missing, "no-such-file.json", "no-such-file.json: does not exist"),
    (_nul_in_text, "nul.json", "nul.json: the database refused this file, nothing of it was written"),
]


@pytest.mark.parametrize(("make_bad", "name", "expected"), CASES, ids=[c[1] for c in CASES])
def test_a_bad_input_fails_alone(
    session: Session, tmp_path: Path, make_bad: BadInput, name: str, expected: str
) -> None:
    good = write_json(tmp_path, "good.json", good_seed("conv_good", 2))
    bad = make_bad(tmp_path)
    before = table_counts(session)

    summary = import_paths(session=session, paths=[good, bad], user="dana")

    assert summary.status == "completed_with_errors"
    good_report, bad_report = summary.files
    assert (good_report.status, good_report.conversations, good_report.turns) == ("imported", 1, 2)
    assert bad_report.status == "failed"
    assert bad_report.path.endswith(name)
    assert bad_report.conversations == bad_report.turns == 0
    assert any(expected in e.text for e in bad_report.errors), [e.text for e in bad_report.errors]
    assert all(e.text.startswith(str(bad)) for e in bad_report.errors)
    after = table_counts(session)
    assert {k: after[k] - before[k] for k in after} == {
        "training_conversations": 1,
        "training_turns": 2,
        "emotional_context": 2,
        "response_strategies": 2,
        "response_breakdowns": 4,
        "quality_metrics": 1,
        "import_runs": 1,
        "import_run_items": 1,
    }
    ids = session.scalars(select(TrainingConversation.conversation_id)).all()
    assert ids == ["conv_good"]


def test_a_failed_file_leaves_its_plan_row_planned(session: Session, tmp_path: Path) -> None:
    load_plan(session)
    document = with_value(good_seed("fp_marcus_002"), ("training_pairs", 1, "target_response"), "a\u0000b")
    summary = import_paths(session=session, paths=[write_json(tmp_path, "nul.json", document)], user="dana")
    assert summary.status == "failed"
    row = session.scalars(
        select(TrainingConversation).where(TrainingConversation.conversation_id == "fp_marcus_002")
    ).one()
    session.refresh(row)
    assert (row.generation_status, row.turn_count, row.import_run_id) == ("planned", 0, None)


def test_a_turn_id_used_by_another_conversation_rejects_the_file(session: Session, tmp_path: Path) -> None:
    import_paths(session=session, paths=[write_json(tmp_path, "a.json", good_seed("conv_a", 2))], user="dana")
    # A pair id that starts with its conversation's id is stored as it is, so it can collide.
    pairs = make_conversation("conv", 2)
    pairs[1]["id"] = "conv_a_turn2"
    summary = import_paths(
        session=session, paths=[write_json(tmp_path, "b.json", make_single_file(pairs))], user="dana"
    )
    (error,) = summary.files[0].errors
    assert error.json_path == "$.training_pairs[1].id"
    assert "already used by a turn of conversation 'conv_a'" in error.message
    assert session.scalars(select(TrainingConversation.conversation_id)).all() == ["conv_a"]


def test_a_pair_id_of_another_conversation_is_qualified_by_its_own(session: Session, tmp_path: Path) -> None:
    import_paths(session=session, paths=[write_json(tmp_path, "a.json", good_seed("conv_a", 2))], user="dana")
    pairs = make_conversation("conv_b", 2)
    pairs[1]["id"] = "conv_a_turn2"
    summary = import_paths(
        session=session, paths=[write_json(tmp_path, "b.json", make_single_file(pairs))], user="dana"
    )
    assert summary.files[0].status == "imported"
    turn_ids = session.scalars(select(TrainingTurn.turn_id).order_by(TrainingTurn.turn_id)).all()
    assert turn_ids == ["conv_a_turn1", "conv_a_turn2", "conv_b/conv_a_turn2", "conv_b_turn1"]
