"""A client on the per-test database and a small, known set of conversations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.helpers import factories as f
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database

USER = "dana"


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    settings = Settings(TDS_USER=USER)  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Dataset:
    ids: dict[int, uuid.UUID]

    def uuid_of(self, number: int) -> uuid.UUID:
        return self.ids[number]


@pytest.fixture
def dataset(database: Database) -> Dataset:
    """Six conversations that differ in every filtered dimension (numbers 1-6), committed."""
    ids: dict[int, uuid.UUID] = {}
    with database.session_scope() as s:
        ids[1] = f.insert_conversation(
            s,
            conversation_number=1,
            conversation_id="fp_marcus_001",
            persona_type="Marcus",
            topic_category="Budget basics, 100% clear",
            topic_description="Marcus wants a budget that is 100% clear.",
            tier="tier1_template",
            tier_template="confusion_to_clarity",
            starting_emotion="Confusion",
            ending_emotion="Clarity",
            is_seed_example=True,
        )
        ids[2] = f.insert_generated_conversation(
            s,
            conversation_number=2,
            conversation_id="fp_jennifer_002",
            persona_type="Jennifer",
            topic_category="Credit card shame",
            topic_description="Jennifer hides a balance from her partner.",
            tier="tier1_template",
            tier_template="shame_to_acceptance",
            starting_emotion="Shame",
            ending_emotion="Acceptance",
            quality_score=4.5,
            turn_texts=[
                ("I have no emergency fund at all.", "An emergency fund starts small: emergency savings of one week."),
                ("How big should the emergency fund be?", "Three months of expenses makes a calm emergency fund."),
            ],
        )
        ids[3] = f.insert_generated_conversation(
            s,
            conversation_number=3,
            conversation_id="fp_david_003",
            persona_type="David",
            topic_category="Retirement_timing worries",
            topic_description="David wonders whether to retire early.",
            tier="tier2_scenario",
            tier_template="life_transition",
            starting_emotion="Anxiety",
            ending_emotion="Confidence",
            generation_status="approved",
            quality_score=3.0,
            turn_texts=[("<b>Bold</b> <script>alert(1)</script> is an emergency budget enough?", "Let us look.")],
        )
        ids[4] = f.insert_generated_conversation(
            s,
            conversation_number=4,
            conversation_id="mixed_004",
            persona_type="Mixed",
            topic_category="Job loss crisis",
            topic_description="A client lost their job this morning.",
            tier="tier3_edge",
            tier_template="crisis_safety",
            starting_emotion="Distress",
            ending_emotion="Safety",
            generation_status="reviewed",
            quality_score=5.0,
        )
        ids[5] = f.insert_generated_conversation(
            s,
            conversation_number=5,
            conversation_id="fp_marcus_005",
            persona_type="Marcus",
            topic_category="Equity compensation taxes",
            topic_description="RSUs vest next month.",
            tier="tier2_scenario",
            tier_template="high_stakes",
            starting_emotion="Overwhelm",
            ending_emotion="Clarity",
            generation_status="flagged",
            quality_score=2.0,
        )
        ids[6] = f.insert_conversation(
            s,
            conversation_number=6,
            conversation_id="mixed_006",
            persona_type="Mixed",
            topic_category="Wedding budget fights",
            topic_description="A couple argues about the cost of a wedding.",
            tier="tier1_template",
            tier_template="couple_conflict_to_alignment",
            starting_emotion="Conflict",
            ending_emotion="Clarity",
        )
    return Dataset(ids)
