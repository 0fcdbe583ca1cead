"""The status vocabularies are defined once (models/enums.py); the Literal types the API schemas spell out for
OpenAPI, and the order the Matrix sorts by, must name exactly the same values."""

from __future__ import annotations

from typing import get_args

from training_data_studio.conversations import schemas as conversation_schemas
from training_data_studio.generation import schemas as generation_schemas
from training_data_studio.models.enums import ConversationStatus, ItemStatus, JobStatus
from training_data_studio.quality import schemas as quality_schemas


def test_conversation_statuses_match_the_enum() -> None:
    assert set(get_args(conversation_schemas.Status)) == set(ConversationStatus)
    assert conversation_schemas.STATUSES == tuple(ConversationStatus)
    assert quality_schemas.Status is conversation_schemas.Status
    assert set(conversation_schemas.STATUS_LABELS) == set(ConversationStatus)


def test_job_and_item_statuses_match_the_enums() -> None:
    assert set(get_args(generation_schemas.JobStatus)) == set(JobStatus)
    assert set(get_args(generation_schemas.ItemStatus)) == set(ItemStatus)


def test_members_are_the_stored_strings() -> None:
    assert ConversationStatus.IN_PROGRESS == "in_progress"
    assert f"{JobStatus.PAUSED}" == "paused"
