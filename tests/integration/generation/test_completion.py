"""Completing an imported incomplete conversation by generation: the model writes the turns after the stored
ones, with them as its history (and answers the client message a conversation ends on); the stored turns
stay exactly as they were, the incomplete version is kept as a revision, and a completion that does not
succeed leaves the conversation incomplete with its stored turns. Real queue and worker, the real SDK
against the fake server, our own invented files (no upstream text)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers.documents import json_identical
from tests.helpers.generation import anthropic_settings, start_job, work_until_idle
from tests.helpers.later_layouts import make_block, make_half_pair_conversation, make_training_file
from tests.helpers.seed_files import write_json
from training_data_studio.app import create_app
from training_data_studio.conversations.export import export_conversation
from training_data_studio.core.db import Database
from training_data_studio.core.errors import ConflictError
from training_data_studio.generation.prompts import GIVEN_CLIENT_MESSAGE
from training_data_studio.imports.service import import_paths
from training_data_studio.local_generation import dry_run
from training_data_studio.models import (
    ConversationReview,
    ConversationRevision,
    GenerationAttempt,
    QualityMetrics,
    TrainingConversation,
    TrainingTurn,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

OPEN_MESSAGE = "Invented last client message that the file leaves without a reply."


def _fake(monkeypatch: pytest.MonkeyPatch, config: FakeConfig) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(config) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    yield from _fake(monkeypatch, FakeConfig(latency_seconds=0.01))


@pytest.fixture
def failing_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    # The first new turn and its repair are both invalid: the completion fails after two calls.
    yield from _fake(monkeypatch, FakeConfig(latency_seconds=0.01, script=["invalid", "invalid"]))


def _incomplete_block(*, open_ending: bool) -> dict[str, Any]:
    """One exchange (a half pair and its answer), maybe a last client message, of a file that declares 8
    pairs: a plan slot's conversation (David, shame to acceptance, hiding financial problems) imported
    as incomplete."""
    block = make_block(make_half_pair_conversation("partial", 1, open_ending=open_ending), declared_turns=8)
    block["conversation_metadata"]["scaffolding"] = {
        "persona_key": "pragmatic_optimist",
        "persona_name": "David Invented - The Pragmatic Optimist",
        "emotional_arc_key": "shame_to_acceptance",
        "training_topic_key": "hiding_financial_problems",
        "training_topic": "An invented topic title",
    }
    return block


def _import_incomplete(database: Database, tmp_path: Path, *, open_ending: bool = True) -> tuple[int, dict[str, Any]]:
    block = _incomplete_block(open_ending=open_ending)
    path = write_json(tmp_path, "partial.json", make_training_file([block]))
    with database.session_scope() as s:
        (report,) = import_paths(session=s, paths=[path], user="dana").files
        assert report.status == "imported", [e.text for e in report.errors]
        row = s.scalars(
            select(TrainingConversation).where(
                TrainingConversation.source_conversation_id == block["conversation_metadata"]["conversation_id"]
            )
        ).one()
        assert (row.generation_status, row.turn_count) == ("incomplete", 1)
        return row.conversation_number, block


def _row(database: Database, number: int) -> TrainingConversation:
    with database.session_scope() as s:
        row = s.scalars(select(TrainingConversation).where(TrainingConversation.conversation_number == number)).one()
        s.expunge(row)
        return row


def _turns(database: Database, number: int) -> list[dict[str, Any]]:
    with database.session_scope() as s:
        rows = s.execute(
            select(TrainingTurn.id, TrainingTurn.turn_id, TrainingTurn.user_input, TrainingTurn.source_json)
            .join(TrainingConversation, TrainingConversation.id == TrainingTurn.conversation_id)
            .where(TrainingConversation.conversation_number == number)
            .order_by(TrainingTurn.turn_number)
        ).all()
        return [row._asdict() for row in rows]


def _export(database: Database, number: int) -> dict[str, Any]:
    with database.session_scope() as s:
        return export_conversation(session=s, ident=_row(database, number).conversation_id)


def _request_texts(fake: FakeAnthropic) -> list[str]:
    return [json.dumps(body, ensure_ascii=False) for body in fake.requests]


def test_generation_completes_an_incomplete_conversation_after_its_stored_turns(
    seeded: Database, fake: FakeAnthropic, tmp_path: Path
) -> None:
    number, block = _import_incomplete(seeded, tmp_path)
    target = _row(seeded, number).turn_count_target
    assert target is not None
    assert target >= 2
    stored_before = _turns(seeded, number)
    before = _export(seeded, number)

    start_job(seeded, "single", [str(number)])
    work_until_idle(seeded, anthropic_settings())

    row = _row(seeded, number)
    assert (row.generation_status, row.turn_count, row.generation_error) == ("generated", target, None)
    assert row.open_ending is None  # answered by the first new turn
    assert row.generation_method == "seed_import"  # the file's turns are the user's: never regenerated whole
    turns = _turns(seeded, number)
    assert turns[0] == stored_before[0]  # the stored turn is the same row, untouched
    assert turns[1]["user_input"] == OPEN_MESSAGE
    # Each call wrote one new turn, with the stored exchange as its history.
    texts = _request_texts(fake)
    assert len(texts) == target - 1
    stored_reply = block["training_pairs"][1]["target_response"]
    assert all(stored_reply in text for text in texts)
    given = GIVEN_CLIENT_MESSAGE.format(turn=2, message=OPEN_MESSAGE)
    assert json.dumps(given, ensure_ascii=False)[1:-1] in texts[0]
    assert not any(json.dumps(given, ensure_ascii=False)[1:-1] in text for text in texts[1:])
    # The export gives back the file's pairs (half pair, exchange, its last client message), then the new turns.
    after = _export(seeded, number)
    original = block["training_pairs"]
    assert json_identical(after["training_pairs"][: len(original)], original)
    new = after["training_pairs"][len(original) :]
    assert [pair["turn_number"] for pair in new] == list(range(2, target + 1))
    assert all(pair["target_response"] for pair in new)

    with seeded.session_scope() as s:
        (revision,) = s.scalars(select(ConversationRevision).where(ConversationRevision.conversation_id == row.id))
        assert (revision.reason, revision.generation_status) == ("completed", "incomplete")
        assert json_identical(revision.document, before)
        (audit,) = s.scalars(
            select(ConversationReview).where(
                ConversationReview.conversation_id == row.id, ConversationReview.source == "complete"
            )
        )
        assert (audit.from_status, audit.to_status) == ("incomplete", "generated")
        metrics = s.scalars(select(QualityMetrics).where(QualityMetrics.conversation_id == row.id)).all()
        assert len(metrics) == 1
        assert metrics[0].total_turns == target
        parts = s.scalars(
            select(GenerationAttempt.part)
            .where(GenerationAttempt.conversation_id == row.id)
            .order_by(GenerationAttempt.attempt)
        ).all()
        assert parts == [f"turn {turn} of {target}" for turn in range(2, target + 1)]


def test_a_conversation_that_ends_on_a_reply_continues_with_new_client_messages(
    seeded: Database, fake: FakeAnthropic, tmp_path: Path
) -> None:
    number, block = _import_incomplete(seeded, tmp_path, open_ending=False)
    target = _row(seeded, number).turn_count_target
    assert target is not None

    start_job(seeded, "single", [str(number)])
    work_until_idle(seeded, anthropic_settings())

    row = _row(seeded, number)
    assert (row.generation_status, row.turn_count) == ("generated", target)
    assert not any("already written" in text for text in _request_texts(fake))
    after = _export(seeded, number)
    assert json_identical(after["training_pairs"][:2], block["training_pairs"])


def test_a_completion_that_fails_leaves_the_conversation_incomplete_with_its_turns(
    seeded: Database, failing_fake: FakeAnthropic, tmp_path: Path
) -> None:
    number, _ = _import_incomplete(seeded, tmp_path)
    stored_before = _turns(seeded, number)
    before = _export(seeded, number)

    start_job(seeded, "single", [str(number)])
    work_until_idle(seeded, anthropic_settings())

    row = _row(seeded, number)
    assert row.generation_status == "incomplete"
    assert row.generation_error is not None
    assert row.generation_error.startswith("Completing it failed (")
    assert row.generation_error.endswith("its stored turns are kept.")
    assert _turns(seeded, number) == stored_before
    assert json_identical(_export(seeded, number), before)
    with seeded.session_scope() as s:
        assert not s.scalars(select(ConversationRevision).where(ConversationRevision.conversation_id == row.id)).all()

    # Retried (now the fake answers well), it completes.
    start_job(seeded, "single", [str(number)])
    work_until_idle(seeded, anthropic_settings())
    assert _row(seeded, number).generation_status == "generated"


def test_economy_mode_refuses_an_incomplete_conversation_with_the_reason(seeded: Database, tmp_path: Path) -> None:
    number, _ = _import_incomplete(seeded, tmp_path)
    with pytest.raises(ConflictError, match=f"#{number} are incomplete and are completed turn by turn"):
        start_job(seeded, "single", [str(number)], economy=True)


def test_the_matrix_and_the_dialog_offer_to_complete_an_incomplete_conversation(
    seeded: Database, tmp_path: Path
) -> None:
    number, block = _import_incomplete(seeded, tmp_path)
    row = _row(seeded, number)
    settings = anthropic_settings()
    with TestClient(create_app(settings=settings, database=seeded)) as client:
        # The file's own id of the conversation (a UUID) finds it, as its export does.
        by_file_id = client.get(f"/api/train-data/conversations/{block['conversation_metadata']['conversation_id']}")
        assert by_file_id.status_code == 200, by_file_id.text
        assert by_file_id.json()["conversation_id"] == row.conversation_id
        matrix = client.get("/", params={"status": "incomplete"})
        assert matrix.status_code == 200
        assert f'data-conversation="{row.conversation_id}"' in matrix.text
        assert ">Complete<span" in matrix.text
        dialog = client.get("/generate/single", params={"conversation": row.conversation_id})
        assert dialog.status_code == 200
        assert "data-completion-notice" in dialog.text
        assert f"holds 1 of its {row.turn_count_target} turns" in dialog.text
        assert "data-single-problem" not in dialog.text


def test_a_dry_run_plans_the_turns_after_the_stored_ones(seeded: Database, tmp_path: Path) -> None:
    """`tds generate --dry-run` of an incomplete conversation shows the calls its generation will make: the
    turns after the stored one, the first with the stored exchange as history and the open client message
    to answer, estimated for those calls only."""
    number, block = _import_incomplete(seeded, tmp_path)
    target = _row(seeded, number).turn_count_target
    assert target is not None
    with seeded.session_scope() as s:
        (planned,) = dry_run(s, anthropic_settings(), [str(number)])
        (from_scratch,) = dry_run(s, anthropic_settings(), ["11"])
    assert planned.stored_turns == 1
    assert planned.estimate.calls == target - 1
    assert planned.first_call is not None
    assert planned.first_call.part == f"turn 2 of {target}"
    assert block["training_pairs"][1]["target_response"] in planned.first_call.conversation_part
    assert GIVEN_CLIENT_MESSAGE.format(turn=2, message=OPEN_MESSAGE) in planned.first_call.conversation_part
    # A planned conversation is written from nothing: every turn, no first call to continue from.
    assert (from_scratch.stored_turns, from_scratch.first_call) == (0, None)
    assert from_scratch.estimate.calls == from_scratch.prompt.turn_count_target
