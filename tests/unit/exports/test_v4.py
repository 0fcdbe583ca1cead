"""The v4 layout: computed metadata, complete self-contained pairs, our schema, and the user's schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.training_files import USER_PHASES, USER_VOCABULARY, v4_conversation
from training_data_studio.core.errors import AppError
from training_data_studio.exports.formats.v4 import V4File, profile_in_v4
from training_data_studio.exports.training_file import CHAT_JSONL, SHAREGPT, V4_JSON, V4_JSONL, build_version
from training_data_studio.exports.v4_schema import schema_problems, v4_schema, validator_for

FILE = V4File("test_file_v1", datetime(2026, 12, 1, 10, tzinfo=UTC), datetime(2026, 12, 2, 11, tzinfo=UTC))
USER_SCHEMA = "c-alpha-build_v3.4_emotional-dataset-full-JSON-format_v4.json"
USER_EXAMPLE = "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json"
USER_JSONL = "c-alpha-build_v3.4_emotional-dataset-full-JSON-format_v4.jsonl"


def _files(built: Any) -> dict[str, bytes]:
    return {f.name: f.data for f in built.files()}


def test_metadata_is_computed_from_the_content() -> None:
    conversations = [v4_conversation("c_001", number=1, turns=3), v4_conversation("c_002", number=2, turns=1)]
    conversations[1].pairs[0].training_metadata.quality_score = 2  # type: ignore[assignment]
    conversations[1].pairs[0].training_metadata.human_reviewed = True
    built = build_version(conversations, FILE)
    metadata = built.metadata
    assert metadata["total_conversations"] == 2
    assert metadata["total_training_pairs"] == 4
    assert metadata["quality_summary"] == {
        "avg_quality_score": 3.5,
        "min_quality_score": 2,
        "max_quality_score": 4,
        "human_reviewed_count": 1,
        "human_reviewed_percentage": 25.0,
    }
    assert metadata["scaffolding_distribution"] == {
        "personas": {"marcus": 2},
        "emotional_arcs": {"confusion_to_clarity": 2},
        "training_topics": {"invented_topic_about_budgets": 2},
    }
    assert metadata["created_date"] == "2026-12-01T10:00:00Z"
    assert metadata["last_updated"] == "2026-12-02T11:00:00Z"
    assert schema_problems(built.document) == []


def test_every_pair_is_a_complete_exchange_with_the_real_history() -> None:
    built = build_version([v4_conversation("c_001", turns=3)], FILE)
    pairs = built.document["conversations"][0]["training_pairs"]
    assert all(isinstance(p["target_response"], str) and p["target_response"] for p in pairs)
    third = pairs[2]
    assert [(h["turn"], h["role"]) for h in third["conversation_history"]] == [
        (1, "user"),
        (1, "assistant"),
        (2, "user"),
        (2, "assistant"),
    ]
    assert third["conversation_history"][1]["content"] == pairs[0]["target_response"]
    assert third["conversation_history"][2]["content"] == pairs[1]["current_user_input"]


def test_file_scaffolding_wins_over_the_plan_row() -> None:
    built = build_version([v4_conversation("c_001", scaffolding=USER_VOCABULARY)], FILE)
    block = built.document["conversations"][0]
    assert block["conversation_metadata"]["scaffolding"] == USER_VOCABULARY
    assert block["training_pairs"][0]["conversation_metadata"]["persona_archetype"] == "anxious_planner"


def test_jsonl_is_the_meta_line_then_one_self_contained_pair_a_line() -> None:
    built = build_version([v4_conversation("c_001", turns=2), v4_conversation("c_002", number=2, turns=3)], FILE)
    lines = _files(built)[V4_JSONL].decode().splitlines()
    meta = json.loads(lines[0])["_meta"]
    assert meta["total_pairs"] == 5
    assert meta["format_spec"] == "brightrun-lora-v4"
    pairs = [json.loads(line) for line in lines[1:]]
    expected = [p for c in built.document["conversations"] for p in c["training_pairs"]]
    assert pairs == expected
    assert all(set(p) >= {"system_prompt", "conversation_metadata", "conversation_history"} for p in pairs)


def test_chat_and_sharegpt_renderings_hold_the_same_exchanges() -> None:
    built = build_version([v4_conversation("c_001", turns=2)], FILE)
    pairs = built.document["conversations"][0]["training_pairs"]
    chat = [json.loads(line) for line in _files(built)[CHAT_JSONL].decode().splitlines()]
    assert [m["role"] for m in chat[0]["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert chat[0]["messages"][4]["content"] == pairs[1]["target_response"]
    sharegpt = json.loads(_files(built)[SHAREGPT])
    assert [m["from"] for m in sharegpt[0]["conversations"]] == ["human", "gpt", "human", "gpt"]
    assert json.loads(_files(built)[V4_JSON]) == built.document


def test_a_missing_required_criterion_is_refused_with_its_path() -> None:
    conversation = v4_conversation("c_001", turns=2)
    del conversation.pairs[1].training_metadata.quality_criteria["brand_voice_alignment"]
    with pytest.raises(AppError, match=r"conversations\[0\]\.training_pairs\[1\]\.training_metadata\.quality_criteria"):
        build_version([conversation], FILE)


def test_an_empty_selection_is_refused() -> None:
    with pytest.raises(AppError, match="at least one conversation"):
        build_version([], FILE)


def test_our_schema_rejects_a_null_target_and_a_wrong_format_spec() -> None:
    document = build_version([v4_conversation("c_001")], FILE).document
    broken = copy.deepcopy(document)
    broken["conversations"][0]["training_pairs"][0]["target_response"] = None
    broken["training_file_metadata"]["format_spec"] = "v3"
    paths = [p.path for p in schema_problems(broken)]
    assert "$.conversations[0].training_pairs[0].target_response" in paths
    assert "$.training_file_metadata.format_spec" in paths


def test_a_profile_with_named_principles_is_numbered_in_order() -> None:
    profile = {
        "name": "N",
        "business": "B",
        "expertise": "E",
        "years_experience": 3,
        "core_philosophy": {f"idea_{i}": f"text {i}" for i in range(5)},
        "communication_style": {"tone": "t", "techniques": [], "avoid": []},
    }
    converted = profile_in_v4(profile)
    assert converted is not None
    assert converted["core_philosophy"] == {f"principle_{i + 1}": f"text {i}" for i in range(5)}
    assert profile_in_v4({**profile, "core_philosophy": {"only": "one"}}) is None


# --- the user's own schema and examples, read in place ------------------------------------------------------


def _user_validator(upstream_seeds: Path) -> Any:
    return validator_for(json.loads((upstream_seeds / USER_SCHEMA).read_text(encoding="utf-8")))


def test_what_we_write_in_the_users_vocabulary_passes_the_users_schema(upstream_seeds: Path) -> None:
    conversations = [
        v4_conversation(f"c_{n:03d}", number=n, turns=3, scaffolding=USER_VOCABULARY, phases=USER_PHASES)
        for n in range(1, 4)
    ]
    document = build_version(conversations, FILE).document
    assert schema_problems(document, _user_validator(upstream_seeds)) == []


def test_with_the_studios_plan_keys_only_the_users_enums_differ(upstream_seeds: Path) -> None:
    """Our plan's personas (marcus), arcs and phases are not in the user's enums; nothing else differs."""
    document = build_version([v4_conversation("c_001", turns=2)], FILE).document
    problems = schema_problems(document, _user_validator(upstream_seeds), limit=100)
    assert problems
    assert all("is not one of" in p.message for p in problems)
    assert {p.path.rsplit(".", 1)[1] for p in problems} <= {"persona_key", "persona_archetype", "conversation_phase"}


def test_the_users_example_passes_their_schema_but_not_ours(upstream_seeds: Path) -> None:
    """The user's example has half pairs (null targets): their schema allows them, ours refuses every one."""
    example = json.loads((upstream_seeds / USER_EXAMPLE).read_text(encoding="utf-8"))
    assert schema_problems(example, _user_validator(upstream_seeds)) == []
    ours = schema_problems(example, limit=100)
    assert ours
    assert all(p.path.endswith(".target_response") and "None is not of type" in p.message for p in ours)
    nulls = [p for c in example["conversations"] for p in c["training_pairs"] if p["target_response"] is None]
    assert len(ours) == len(nulls)


def test_the_users_jsonl_pairs_break_their_own_pair_schema_as_they_break_ours(upstream_seeds: Path) -> None:
    """Each pair line of the user's JSONL example lacks four training_metadata fields both schemas require
    (human_reviewed, reviewer_notes, use_as_seed_example, generate_variations_count)."""
    lines = (upstream_seeds / USER_JSONL).read_text(encoding="utf-8").splitlines()
    assert "_meta" in json.loads(lines[0])
    pairs = [json.loads(line) for line in lines[1:]]
    user_defs = json.loads((upstream_seeds / USER_SCHEMA).read_text(encoding="utf-8"))["$defs"]
    theirs = validator_for({"$ref": "#/$defs/training_pair", "$defs": user_defs})
    ours = validator_for({"$ref": "#/$defs/pair", "$defs": v4_schema()["$defs"]})
    missing = {"human_reviewed", "reviewer_notes", "use_as_seed_example", "generate_variations_count"}
    for pair in pairs:
        for validator in (theirs, ours):
            problems = schema_problems(pair, validator)
            assert {p.path for p in problems} == {"$.training_metadata"}
            assert {p.message.split("'")[1] for p in problems} == missing
