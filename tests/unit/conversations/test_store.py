"""Document -> rows: persona/topic of conversations outside the plan, the annotation columns, column limits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.helpers.documents import make_conversation, make_pair, make_single_file
from training_data_studio.conversations.document import ConversationDoc, SeedFile, group_conversations
from training_data_studio.conversations.store import (
    column_issues,
    content_fields,
    content_rows,
    new_row_fields,
    persona_fields,
)
from training_data_studio.quality.measure import measure_document


def _doc(pairs: list[dict[str, object]]) -> ConversationDoc:
    (doc,) = group_conversations(SeedFile.model_validate(make_single_file(pairs)))
    return doc


@pytest.mark.parametrize(
    ("persona", "persona_type", "name"),
    [
        ("Marcus Thompson - The Overwhelmed Avoider", "Marcus", "Marcus Thompson"),
        ("Jennifer Lee, 41, single mother of two", "Jennifer", "Jennifer Lee"),
        ("David Okafor, 58, teacher", "David", "David Okafor"),
        ("Priya Shah - The Cautious Saver", "Mixed", "Priya Shah"),
        ("Davidson Family - joint session", "Mixed", "Davidson Family"),
    ],
)
def test_persona_of_a_conversation_outside_the_plan(persona: str, persona_type: str, name: str) -> None:
    pair = make_pair()
    pair["conversation_metadata"]["client_persona"] = persona
    doc = _doc([pair])
    fields = persona_fields(doc.pairs[0])
    assert (fields["persona_type"], fields["persona_name"]) == (persona_type, name)


def test_topic_is_the_training_topic_or_the_first_words_of_the_session_context() -> None:
    pair = make_pair()
    pair["conversation_metadata"]["session_context"] = (
        "First session. She booked it after weeks of building spreadsheets about retiring early and worrying."
    )
    fields = new_row_fields(_doc([pair]))
    assert fields["topic_category"] == "First session. She booked it after weeks of building spreadsheets"
    assert fields["topic_description"].startswith("First session.")
    assert fields["tier"] == "tier1_template"
    pair["conversation_metadata"]["training_topic"] = "Retirement timing"
    assert new_row_fields(_doc([pair]))["topic_category"] == "Retirement timing"


def test_conversation_columns_come_from_metadata_and_first_and_last_turns() -> None:
    pairs = make_conversation("conv_a", 3)
    pairs[0]["emotional_context"]["detected_emotions"].update(primary="shame", intensity=0.8)
    pairs[2]["emotional_context"]["detected_emotions"].update(primary="relief", intensity=0.55)
    pairs[1]["training_metadata"].update(use_as_seed_example=True, generate_variations_count=12)
    pairs[0]["training_metadata"]["generate_variations_count"] = 15
    doc = _doc(pairs)
    fields = content_fields(doc)
    assert (fields["starting_emotion"], fields["starting_emotion_intensity"]) == ("shame", Decimal("0.8"))
    assert (fields["ending_emotion"], fields["ending_emotion_intensity"]) == ("relief", Decimal("0.55"))
    assert fields["is_seed_example"]
    assert fields["use_for_variations"]
    assert fields["variation_count_target"] == 15
    assert fields["human_reviewed"] is False
    measured = measure_document(doc, tier="tier1_template", status="approved", is_seed=True)
    assert measured.conversation_columns["turn_count"] == 3
    assert fields["session_context"] == "Invented session for unit tests"
    assert fields["source_envelope"] == doc.envelope


def test_annotation_rows() -> None:
    pair = make_pair("conv_a", 2)
    context = pair["emotional_context"]
    context["detected_emotions"]["valence"] = "mixed_positive_and_anxious"
    context["emotional_indicators"] = {"time_pressure": "by Friday", "self_deprecation": ["I'm hopeless"], "other": []}
    context["emotional_progression"] = {
        "previous_turn_primary": "shame",
        "previous_turn_intensity": 0.8,
        "current_turn_primary": "relief",
        "current_turn_intensity": 0.55,
        "trajectory": "improving",
        "interpretation": "reframe landed",
    }
    context["behavioral_assessment"] = {"risk_level": "low", "trust_level": "building", "mood": "open"}
    pair["response_strategy"]["pacing"] = "slow_gentle"
    doc = _doc([make_pair("conv_a", 1), pair])
    rows = content_rows(doc, conversation_row_id=uuid.uuid4())

    assert [t["turn_id"] for t in rows.turns] == ["conv_a_turn1", "conv_a_turn2"]
    assert rows.turns[1]["source_json"] == doc.pairs[1].to_json_dict()
    ec = rows.contexts[1]
    assert (ec["valence"], ec["valence_original"]) == ("mixed", "mixed_positive_and_anxious")
    assert ec["time_pressure"] == ["by Friday"]
    assert ec["self_deprecation"] == ["I'm hopeless"]
    assert ec["enthusiasm"] is None
    assert ec["emotional_indicators"] == context["emotional_indicators"]
    assert (ec["previous_turn_emotion"], ec["current_turn_emotion"]) == ("shame", "relief")
    assert ec["intensity_change"] == Decimal("-0.25")
    assert ec["progression_description"] == "improving; reframe landed"
    assert (ec["risk_level"], ec["trust_level"], ec["engagement_readiness"]) == ("low", "building", None)
    assert ec["behavioral_assessment"]["mood"] == "open"
    assert ec["client_needs"] == [{"need": "clarity", "priority": 1, "rationale": "test rationale"}]
    assert rows.contexts[0]["emotional_progression"] is None
    assert (rows.strategies[1]["pacing"], rows.strategies[1]["pacing_original"]) == ("slow", "slow_gentle")
    assert rows.strategies[1]["specific_techniques"] == []
    assert [s["sentence_number"] for s in rows.sentences] == [1, 2, 1, 2]


def test_values_too_long_for_their_column_are_errors_with_paths() -> None:
    pair = make_pair()
    pair["emotional_context"]["detected_emotions"]["primary"] = "e" * 60
    issues = column_issues(_doc([pair]))
    assert [(i.path, i.message) for i in issues] == [
        (
            "$.training_pairs[0].emotional_context.detected_emotions.primary",
            "is 60 characters long; training_conversations.starting_emotion holds at most 50: shorten it",
        ),
        (
            "$.training_pairs[0].emotional_context.detected_emotions.primary",
            "is 60 characters long; training_conversations.ending_emotion holds at most 50: shorten it",
        ),
    ]
