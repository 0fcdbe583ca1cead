"""The export's duplicate and seed-copy guards on conversations read from the database."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sqlalchemy.orm import Session

from tests.helpers.export_factories import insert_conversation, make_pairs
from training_data_studio.exports.schemas import ExportOptions
from training_data_studio.exports.service import export_training_set

WORDS = [f"term{n}" for n in range(3000)]


def _pairs(ident: str, rng: random.Random) -> list[dict[str, object]]:
    pairs = make_pairs(ident, 2)
    for pair in pairs:
        pair["target_response"] = " ".join(rng.choices(WORDS, k=120))
    return pairs


def test_a_copy_of_a_seed_and_an_exact_duplicate_are_left_out(session: Session, tmp_path: Path) -> None:
    rng = random.Random(5)
    seed = _pairs("seed_001", rng)
    insert_conversation(session, "seed_001", number=1, is_seed=True, pairs=seed)
    copy = _pairs("gen_001", rng)
    copy[1]["target_response"] = " ".join([*rng.choices(WORDS, k=10), *str(seed[0]["target_response"]).split()[:60]])
    insert_conversation(session, "gen_001", number=2, pairs=copy)
    original = _pairs("gen_002", rng)
    insert_conversation(session, "gen_002", number=3, pairs=original)
    twin = json.loads(json.dumps(original))
    for pair in twin:
        pair["id"] = str(pair["id"]).replace("gen_002", "gen_003")
        pair["conversation_id"] = "gen_003"
    insert_conversation(session, "gen_003", number=4, persona_type="Jennifer", pairs=twin)

    options = ExportOptions.model_validate({"format": "chat-jsonl", "val_fraction": 0})
    result = export_training_set(session=session, options=options, directory=tmp_path / "out")
    assert result.check.ok
    cleaning = result.manifest.cleaning
    assert cleaning is not None
    assert [(e.conversation_id, e.reason) for e in cleaning.exclusions] == [
        ("gen_001", "copies_seed"),
        ("gen_003", "exact_duplicate"),
    ]
    assert "with seed seed_001" in cleaning.exclusions[0].detail
    assert result.manifest.splits["train"].conversation_ids == ["gen_002", "seed_001"]

    allowed = options.model_copy(update={"allow_seed_copies": True})
    kept = export_training_set(session=session, options=allowed, directory=tmp_path / "allowed")
    assert kept.manifest.cleaning is not None
    assert [e.reason for e in kept.manifest.cleaning.exclusions] == ["exact_duplicate"]
