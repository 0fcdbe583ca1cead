"""Conversations stored the way the importer and the generator store them (``save_conversation``), so their
quality_metrics rows are the real ones; and a client on the per-test database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.helpers.export_factories import sample_documents
from tests.unit.quality.builders import SAMPLE_NAMES, replace_sentence, reply_sentences, sample_pairs
from training_data_studio.app import create_app
from training_data_studio.conversations.document import SeedFile, group_conversations
from training_data_studio.conversations.store import save_conversation
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database, DatabaseTarget
from training_data_studio.quality.measure import measure_document

USER = "dana"
Edit = Callable[[list[dict[str, Any]]], None]


def store(
    session: Session,
    conversation_id: str,
    *,
    sample: str = "jennifer",
    status: str = "generated",
    seed: bool = False,
    score: float | None = None,
    template: str | None = "shame_to_acceptance",
    day: datetime | None = None,
    edit: Edit | None = None,
) -> uuid.UUID:
    """One sample conversation under a new id, saved by ``save_conversation``; returns its row id."""
    pairs = sample_pairs(sample)
    for pair in pairs:
        pair["id"] = f"{conversation_id}_turn{pair['turn_number']}"
        pair["conversation_id"] = conversation_id
        metadata = pair["training_metadata"]
        metadata["use_as_seed_example"] = seed
        if score is not None:
            metadata["quality_score"] = score
            metadata["quality_criteria"] = {key: score for key in metadata["quality_criteria"]}
    if edit is not None:
        edit(pairs)
    document = sample_documents()[SAMPLE_NAMES.index(sample)]
    envelope = {key: value for key, value in document.items() if key != "training_pairs"}
    (doc,) = group_conversations(SeedFile.model_validate({**envelope, "training_pairs": pairs}))
    row = save_conversation(
        session,
        doc,
        measure=measure_document,
        user=USER,
        status=status,
        generation_method="seed_import" if seed else "anthropic",
        extra={"tier_template": template, "generation_date": day or datetime(2026, 11, 20, 12, tzinfo=UTC)},
    )
    session.flush()
    return row.id


def no_indicators_on_turn_2(pairs: list[dict[str, Any]]) -> None:
    pairs[1]["emotional_context"]["emotional_indicators"] = {}


def no_check_in_on_last_turn(pairs: list[dict[str, Any]]) -> None:
    replace_sentence(pairs[-1], len(reply_sentences(pairs[-1])), "Talk soon.")


@dataclass(frozen=True)
class Dataset:
    ids: dict[str, uuid.UUID]


@pytest.fixture
def dataset(database: Database) -> Dataset:
    """Seven conversations, committed: two approved seeds and five generated ones of known quality."""
    with database.session_scope() as s:
        ids = {
            "seed_jennifer": store(s, "seed_jennifer", status="approved", seed=True),
            "seed_marcus": store(s, "seed_marcus", sample="marcus", status="approved", seed=True, template=None),
            # Self-scored 5.0, complete: the one "approve all 5.0" approves.
            "gen_perfect": store(
                s,
                "gen_perfect",
                sample="david",
                template="anxiety_to_confidence",
                day=datetime(2026, 11, 24, tzinfo=UTC),
            ),
            # Self-scored 5.0 but its annotation is incomplete: left for a person.
            "gen_incomplete": store(s, "gen_incomplete", edit=no_indicators_on_turn_2),
            # Below 4.0: "flag all below 4.0" flags these two ...
            "gen_low": store(
                s,
                "gen_low",
                sample="marcus",
                score=3,
                template="confusion_to_clarity",
                edit=no_check_in_on_last_turn,
                day=datetime(2026, 11, 24, tzinfo=UTC),
            ),
            "gen_reviewed_low": store(
                s, "gen_reviewed_low", sample="david", status="reviewed", score=3.5, template="anxiety_to_confidence"
            ),
            # ... but never one a reviewer approved.
            "gen_approved_low": store(
                s, "gen_approved_low", status="approved", score=2, template="confusion_to_clarity"
            ),
        }
    return Dataset(ids)


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    settings = Settings(TDS_USER=USER)  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def run_tds(
    target: DatabaseTarget, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`tds ...` as the user runs it: a subprocess on the test database."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "DATABASE_URL", "SUPABASE_", "ANTHROPIC_"))
    }
    clean.update(DATABASE_URL=target.conninfo, TDS_USER=USER, COLUMNS="200", NO_COLOR="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "training_data_studio", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
