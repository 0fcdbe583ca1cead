"""Exporting from the database: selection, the stored turns as the source, and bad selections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.helpers.documents import json_identical
from tests.helpers.export_factories import insert_conversation, insert_sample, sample_documents
from training_data_studio.core.errors import AppError
from training_data_studio.exports.schemas import ExportOptions
from training_data_studio.exports.service import export_to_store, export_training_set, load_conversations
from training_data_studio.models import ConversationTemplate, TrainingTurn
from training_data_studio.plan import service as plan


def _options(**changes: object) -> ExportOptions:
    return ExportOptions.model_validate({"format": "chat-jsonl", **changes})


def _dataset(session: Session) -> None:
    insert_conversation(session, "m_001", number=101, persona_type="Marcus", status="approved", is_seed=True)
    insert_conversation(session, "m_002", number=102, persona_type="Marcus", status="approved", turns=3)
    insert_conversation(session, "j_001", number=103, persona_type="Jennifer", tier="tier2_scenario", turns=1)
    insert_conversation(session, "j_002", number=104, persona_type="Jennifer", status="reviewed")
    insert_conversation(session, "d_001", number=105, persona_type="David", status="generated")


def test_default_selection_is_approved_conversations_in_number_order(session: Session) -> None:
    _dataset(session)
    conversations = load_conversations(session=session, options=_options())
    assert [c.conversation_id for c in conversations] == ["m_001", "m_002", "j_001"]
    assert [len(c.pairs) for c in conversations] == [2, 3, 1]
    assert [p.turn_number for p in conversations[1].pairs] == [1, 2, 3]


def test_filters_by_status_tier_and_persona(session: Session) -> None:
    _dataset(session)

    def ids(**changes: object) -> list[str]:
        return [c.conversation_id for c in load_conversations(session=session, options=_options(**changes))]

    assert ids(statuses=["approved", "reviewed"]) == ["m_001", "m_002", "j_001", "j_002"]
    assert ids(tiers=["tier2_scenario"]) == ["j_001"]
    assert ids(personas=["Marcus"]) == ["m_001", "m_002"]
    assert ids(statuses=["generated", "approved"], personas=["David", "Jennifer"]) == ["j_001", "d_001"]


def test_an_empty_selection_is_422(session: Session) -> None:
    _dataset(session)
    with pytest.raises(AppError, match=r"No conversations match the selection \(status failed; persona Marcus\)") as e:
        load_conversations(session=session, options=_options(statuses=["failed"], personas=["Marcus"]))
    assert e.value.status == 422


def test_an_approved_conversation_without_turns_is_422(session: Session) -> None:
    insert_conversation(session, "empty_001", number=101, pairs=[])
    with pytest.raises(AppError, match="empty_001 is 'approved' but has no turns") as e:
        load_conversations(session=session, options=_options())
    assert e.value.status == 422


def test_a_broken_stored_turn_names_the_conversation(session: Session) -> None:
    insert_conversation(session, "broken_001", number=101)
    turn = session.execute(select(TrainingTurn).where(TrainingTurn.turn_number == 2)).scalar_one()
    session.execute(
        update(TrainingTurn)
        .where(TrainingTurn.id == turn.id)
        .values(source_json={**turn.source_json, "turn_number": 0})
    )
    with pytest.raises(AppError, match=r"broken_001, turn 2: .*\$\.turn_number") as e:
        load_conversations(session=session, options=_options())
    assert e.value.status == 422


def test_templates_and_models_come_from_the_rows(session: Session) -> None:
    plan.load_templates(session, plan.read_templates(), user="dana")
    template_uuid = session.execute(
        select(ConversationTemplate.id).where(ConversationTemplate.template_id == "grief_to_healing")
    ).scalar_one()
    insert_conversation(
        session, "g_001", number=101, template_uuid=template_uuid, template_version=2, generation_model="claude-x"
    )
    [conversation] = load_conversations(session=session, options=_options())
    assert (conversation.template_id, conversation.template_version, conversation.generation_model) == (
        "grief_to_healing",
        2,
        "claude-x",
    )


def test_the_samples_export_losslessly_as_annotated(session: Session, tmp_path: Path) -> None:
    documents = sample_documents()
    for number, document in enumerate(documents, start=201):
        insert_sample(session, document, number=number)
    result = export_training_set(
        session=session, options=_options(format="annotated", val_fraction=0), directory=tmp_path
    )
    assert result.check.ok, result.check.errors
    exported = json.loads((tmp_path / "train.json").read_text(encoding="utf-8"))
    by_id = {record["training_pairs"][0]["conversation_id"]: record for record in exported}
    for document in documents:
        assert json_identical(by_id[document["training_pairs"][0]["conversation_id"]], document)


@pytest.mark.parametrize("export_format", ["chat-jsonl", "sharegpt"])
def test_the_samples_pass_the_checks(session: Session, tmp_path: Path, export_format: str) -> None:
    for number, document in enumerate(sample_documents(), start=201):
        insert_sample(session, document, number=number)
    result = export_training_set(
        session=session, options=_options(format=export_format, mode="per-turn"), directory=tmp_path
    )
    assert result.check.ok, result.check.errors
    assert result.manifest.splits["train"].examples + result.manifest.splits["validation"].examples == 11


def test_exporting_twice_to_the_store_gives_one_folder(session: Session, tmp_path: Path) -> None:
    _dataset(session)
    first = export_to_store(session=session, options=_options(), root=tmp_path)
    second = export_to_store(session=session, options=_options(), root=tmp_path)
    assert first.directory == second.directory == tmp_path / first.manifest.export_id[:16]
    assert [p.name for p in tmp_path.iterdir()] == [first.directory.name]  # no scratch folder left


def test_a_failing_check_leaves_nothing_in_the_store(session: Session, tmp_path: Path) -> None:
    _dataset(session)
    with pytest.raises(AppError, match="failed its checks") as e:
        export_to_store(session=session, options=_options(max_tokens=5), root=tmp_path)
    assert e.value.status == 422
    assert list(tmp_path.iterdir()) == []
