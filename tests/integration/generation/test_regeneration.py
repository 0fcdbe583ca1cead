"""Regenerating a generated conversation: a new version from the model replaces it, the old one is kept whole as
a revision, and a regeneration that does not succeed leaves the conversation exactly as it was. Real queue and
worker, the real SDK against the fake server, the API and pages through a real app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.helpers.generation import anthropic_settings, start_job, work_until_idle
from training_data_studio.app import create_app
from training_data_studio.conversations import selection
from training_data_studio.conversations import service as conversations
from training_data_studio.conversations.export import export_conversation
from training_data_studio.conversations.schemas import StatusChange
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.core.errors import ConflictError
from training_data_studio.generation import schemas, service
from training_data_studio.models import (
    ConversationReview,
    ConversationRevision,
    GenerationJob,
    QualityMetrics,
    TrainingConversation,
    TrainingTurn,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(FakeConfig(latency_seconds=0.02)) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


def _generate(database: Database, number: int) -> None:
    start_job(database, "single", [str(number)])
    work_until_idle(database, anthropic_settings())


def _row(database: Database, number: int) -> TrainingConversation:
    with database.session_scope() as s:
        row = s.scalars(select(TrainingConversation).where(TrainingConversation.conversation_number == number)).one()
        s.expunge(row)
        return row


def _export(database: Database, number: int) -> dict[str, object]:
    with database.session_scope() as s:
        return export_conversation(session=s, ident=str(_row(database, number).conversation_id))


def test_a_regeneration_replaces_the_content_and_keeps_the_approved_version(
    seeded: Database, fake: FakeAnthropic
) -> None:
    _generate(seeded, 11)
    ident = _row(seeded, 11).conversation_id
    with seeded.session_scope() as s:
        conversations.change_status(
            session=s, ident=ident, change=StatusChange(status="approved", reviewer_notes="Warm and clear."), user="lee"
        )
    before = _export(seeded, 11)

    job_id = start_job(seeded, "single", ["11"], regenerate=True)
    work_until_idle(seeded, anthropic_settings())

    row = _row(seeded, 11)
    assert (row.generation_status, row.human_reviewed, row.reviewed_by, row.reviewer_notes) == (
        "generated",
        False,
        None,
        None,
    )
    after = _export(seeded, 11)
    old_inputs = [p["current_user_input"] for p in before["training_pairs"]]  # type: ignore[attr-defined]
    new_inputs = [p["current_user_input"] for p in after["training_pairs"]]  # type: ignore[attr-defined]
    assert new_inputs != old_inputs, "the fake answers each call differently, so the content must have changed"
    with seeded.session_scope() as s:
        job = s.get(GenerationJob, job_id)
        assert job is not None
        assert (job.status, job.completed_conversations) == ("completed", 1)
        turns = s.scalar(select(func.count()).select_from(TrainingTurn).where(TrainingTurn.conversation_id == row.id))
        assert turns == row.turn_count == len(new_inputs), "the old turns are gone, not added to"
        metrics = s.scalar(
            select(func.count()).select_from(QualityMetrics).where(QualityMetrics.conversation_id == row.id)
        )
        assert metrics == 1
        revision = s.scalars(select(ConversationRevision).where(ConversationRevision.conversation_id == row.id)).one()
        assert revision.revision_number == 1
        assert revision.document == before
        assert revision.generation_status == "approved"
        assert revision.conversation_row["reviewer_notes"] == "Warm and clear."
        assert revision.conversation_row["reviewed_by"] == "lee"
        assert revision.quality_metrics is not None
        assert revision.quality_metrics["reviewer_approved"] is True
        assert revision.replaced_by_job_id == job_id
        audit = s.scalars(
            select(ConversationReview).where(
                ConversationReview.conversation_id == row.id, ConversationReview.source == "regenerate"
            )
        ).one()
        assert (audit.from_status, audit.to_status, audit.reviewer) == ("approved", "generated", "dana")

    # A second regeneration keeps the first regenerated version as revision 2.
    start_job(seeded, "single", [ident], regenerate=True)
    work_until_idle(seeded, anthropic_settings())
    with seeded.session_scope() as s:
        numbers = s.scalars(
            select(ConversationRevision.revision_number)
            .where(ConversationRevision.conversation_id == row.id)
            .order_by(ConversationRevision.revision_number)
        ).all()
        second = s.scalars(select(ConversationRevision).where(ConversationRevision.revision_number == 2)).one()
        assert numbers == [1, 2]
        assert second.document == after
        assert second.generation_status == "generated"


def test_a_failed_regeneration_leaves_the_conversation_as_it_was(
    seeded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first generation: four turns; the regeneration's first turn fails twice.
    with FakeAnthropic(FakeConfig(script=["ok"] * 4 + ["invalid", "invalid"])) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        _generate(seeded, 12)
        with seeded.session_scope() as s:
            conversations.change_status(
                session=s,
                ident=_row(seeded, 12).conversation_id,
                change=StatusChange(status="flagged", reviewer_notes="Too brisk."),
                user="lee",
            )
        before = _export(seeded, 12)
        start_job(seeded, "single", ["12"], regenerate=True)
        work_until_idle(seeded, anthropic_settings())
        assert fake.counters.calls == 6

    row = _row(seeded, 12)
    assert (row.generation_status, row.reviewer_notes) == ("flagged", "Too brisk.")
    assert row.generation_error is not None
    assert row.generation_error.startswith("Regeneration failed (")
    assert row.generation_error.endswith("the previous version is kept.")
    assert _export(seeded, 12) == before
    with seeded.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ConversationRevision)) == 0


def test_what_cannot_be_regenerated_is_refused_before_any_job_exists(seeded: Database, fake: FakeAnthropic) -> None:
    _generate(seeded, 13)
    with seeded.session_scope() as s:
        sample_seed = s.scalars(
            select(TrainingConversation.conversation_id).where(TrainingConversation.generation_method == "seed_import")
        ).first()
        s.execute(  # approved without ever having content: not reachable through review, refused all the same
            update(TrainingConversation)
            .where(TrainingConversation.conversation_number == 20)
            .values(generation_status="approved")
        )
    assert sample_seed is not None
    refusals = {
        "14": "is planned: generate it instead",
        sample_seed: "was imported from a seed file",
        "20": "has no turns: there is no version to replace",
    }
    for ident, message in refusals.items():
        with seeded.session_scope() as s, pytest.raises(ConflictError, match=message):
            service.create_job(
                s,
                job_type="single",
                conversations=selection.resolve_conversations(s, [ident]),
                options=schemas.JobOptions(),
                user="dana",
                provider="anthropic",
                model="claude-sonnet-4-6",
                regenerate=True,
            )
    with seeded.session_scope() as s, pytest.raises(ConflictError, match="regenerate a selection instead"):
        service.create_job(
            s,
            job_type="process_all",
            conversations=selection.resolve_conversations(s, ["13"]),
            options=schemas.JobOptions(),
            user="dana",
            provider="anthropic",
            model="claude-sonnet-4-6",
            regenerate=True,
        )
    start_job(seeded, "single", ["13"], regenerate=True)  # queued, no worker yet
    with pytest.raises(ConflictError, match="already queued"):
        start_job(seeded, "single", ["13"], regenerate=True)
    with seeded.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(GenerationJob)) == 2  # #13's first job and the queued one


def test_the_api_and_the_detail_view_regenerate_and_list_revisions(seeded: Database, fake: FakeAnthropic) -> None:
    _generate(seeded, 15)
    ident = _row(seeded, 15).conversation_id
    before = _export(seeded, 15)
    settings = Settings(TDS_USER="dana", ANTHROPIC_API_KEY="test-key")  # type: ignore[call-arg]
    with TestClient(create_app(settings, seeded)) as client:
        page = client.get(f"/conversations/{ident}")
        assert f'href="/generate/single?conversation={ident}&amp;regenerate=true"' in page.text
        dialog = client.get("/generate/single", params={"conversation": ident, "regenerate": "true"})
        assert "Regenerate conversation #15" in dialog.text
        assert 'name="regenerate" value="true"' in dialog.text

        refused = client.post("/api/train-data/generate/single", json={"conversation_id": "16", "regenerate": True})
        assert refused.status_code == 409
        assert "generate it instead" in refused.json()["error"]["message"]

        started = client.post("/api/train-data/generate/single", json={"conversation_id": ident, "regenerate": True})
        assert started.status_code == 201, started.text
        assert client.get(f"/api/train-data/conversations/{ident}/revisions").json() == []

    work_until_idle(seeded, anthropic_settings())

    with TestClient(create_app(settings, seeded)) as client:
        revisions = client.get(f"/api/train-data/conversations/{ident}/revisions").json()
        assert [(r["revision_number"], r["generation_status"]) for r in revisions] == [(1, "generated")]
        assert client.get(f"/api/train-data/conversations/{ident}/revisions/1").json() == before
        missing = client.get(f"/api/train-data/conversations/{ident}/revisions/2")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert client.get("/api/train-data/conversations/nope/revisions").status_code == 404
        assert client.get(f"/api/train-data/conversations/{ident}/revisions/0").status_code == 422
        page = client.get(f"/conversations/{ident}")
        assert "Previous versions" in page.text
        assert f"/api/train-data/conversations/{ident}/revisions/1" in page.text
