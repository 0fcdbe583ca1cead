"""Quality metrics as stored: written with every conversation by save_conversation (import, generation),
recomputed on demand, kept apart from the self-reported scores, and updated by review decisions."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from tests.integration.quality.conftest import Dataset, no_indicators_on_turn_2, run_tds, store
from training_data_studio.core.db import Database, DatabaseTarget
from training_data_studio.models import QualityMetrics, TrainingConversation, TrainingTurn
from training_data_studio.quality.service import recompute_all, recompute_metrics


def _metrics(session: Session, row_id: object) -> QualityMetrics:
    return session.scalars(select(QualityMetrics).where(QualityMetrics.conversation_id == row_id)).one()


def test_a_saved_seed_has_every_check_stored_and_is_ready(session: Session) -> None:
    row_id = store(session, "seed_jennifer", status="approved", seed=True)
    metrics = _metrics(session, row_id)
    assert metrics.computed_score == Decimal("1.000")
    assert metrics.checks is not None
    assert len(metrics.checks) == 15
    assert all(check["passed"] is True for check in metrics.checks)
    assert metrics.issues == []
    assert metrics.all_required_fields_complete
    assert metrics.ready_for_training
    assert not metrics.needs_review
    # The self-reported scores stay in their own columns, apart from the computed one.
    assert (metrics.overall_quality_score, metrics.clarity_score) == (Decimal("5.0"), Decimal("4.8"))


def test_a_generated_conversation_needs_review_until_approved(session: Session) -> None:
    metrics = _metrics(session, store(session, "gen_001"))
    assert metrics.all_required_fields_complete
    assert not metrics.ready_for_training
    assert metrics.needs_review


def test_a_broken_conversation_stores_its_issues_and_guidance(session: Session) -> None:
    metrics = _metrics(session, store(session, "gen_broken", edit=no_indicators_on_turn_2, score=3.5))
    assert metrics.computed_score == Decimal("0.933")  # 14 of 15 checks
    assert not metrics.all_required_fields_complete
    assert not metrics.has_complete_emotional_context
    assert metrics.issues is not None
    assert metrics.issues[0] == {
        "check": "emotional_context_complete",
        "severity": "fail",
        "turn": 2,
        "sentence": None,
        "message": "Missing emotional indicators on turn 2",
        "action": "Review turn 2: name the emotions, quote the client's phrases that show them, assess behaviour "
        "and rank the client's needs",
    }
    warnings = [issue["message"] for issue in metrics.issues if issue["severity"] == "warning"]
    assert "Low brand voice score (3.5/5.0)" in warnings


def test_recompute_replaces_computed_columns_and_keeps_the_reviewer(session: Session) -> None:
    row_id = store(session, "gen_002")
    session.execute(
        update(QualityMetrics).where(QualityMetrics.conversation_id == row_id).values(reviewer_notes="Looked fine.")
    )
    turn = session.scalars(
        select(TrainingTurn).where(TrainingTurn.conversation_id == row_id, TrainingTurn.turn_number == 2)
    ).one()
    source = dict(turn.source_json)
    source["emotional_context"] = {**source["emotional_context"], "emotional_indicators": {}}
    turn.source_json = source
    session.flush()

    evaluation = recompute_metrics(session=session, conversation_row_id=row_id)
    assert evaluation is not None
    assert not evaluation.complete
    session.expire_all()
    metrics = _metrics(session, row_id)
    assert metrics.reviewer_notes == "Looked fine."
    assert metrics.all_required_fields_complete is False
    assert metrics.issues is not None
    assert metrics.issues[0]["message"] == "Missing emotional indicators on turn 2"
    assert session.scalar(select(QualityMetrics.id).where(QualityMetrics.conversation_id == row_id)) == metrics.id


def test_recompute_all_reports_counts_and_invalid_documents(session: Session) -> None:
    good = store(session, "seed_a", status="approved", seed=True)
    store(session, "gen_a")
    broken = store(session, "gen_b")
    session.execute(update(TrainingTurn).where(TrainingTurn.conversation_id == broken).values(source_json={"bad": 1}))
    session.execute(update(QualityMetrics).where(QualityMetrics.conversation_id == good).values(checks=None))
    report = recompute_all(session=session)
    assert (report.recomputed, report.ready_for_training, report.needs_review) == (2, 1, 1)
    assert [failure.conversation_id for failure in report.invalid] == ["gen_b"]
    assert "gen_b are not a valid conversation document" in report.invalid[0].error
    assert _metrics(session, good).checks is not None  # recomputed
    assert _metrics(session, broken).checks is not None  # the old row is kept


def test_recompute_a_conversation_without_turns_is_a_no_op(session: Session) -> None:
    row_id = session.execute(
        insert(TrainingConversation)
        .values(
            conversation_id="planned_001",
            conversation_number=99,
            persona_type="Marcus",
            persona_name="Planned",
            topic_category="Planned topic",
            tier="tier1_template",
        )
        .returning(TrainingConversation.id)
    ).scalar_one()
    assert recompute_metrics(session=session, conversation_row_id=row_id) is None
    assert recompute_all(session=session).recomputed == 0


def test_tds_quality_recompute(db_target: DatabaseTarget, database: Database, dataset: Dataset, tmp_path: Path) -> None:
    result = run_tds(db_target, tmp_path, "quality", "recompute")
    assert result.returncode == 0, result.stderr
    assert "recomputed 7 conversations: 3 ready for training, 4 need review, 2 fail at least one check" in result.stdout
    some = run_tds(db_target, tmp_path, "quality", "recompute", "--ids", "gen_low,seed_marcus")
    assert some.returncode == 0, some.stderr
    assert "recomputed 2 conversations" in some.stdout
    missing = run_tds(db_target, tmp_path, "quality", "recompute", "--ids", "nobody_001")
    assert missing.returncode == 1
    assert "No conversation with turns has the id nobody_001" in missing.stderr
