"""The conversation document model: lossless round trip, validation with JSON paths, grouping, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.helpers.documents import (
    json_identical,
    make_conversation,
    make_multi_file,
    make_pair,
    make_single_file,
    with_value,
    without_key,
)
from training_data_studio.conversations.document import (
    DocumentError,
    SeedFile,
    Severity,
    TrainingPair,
    conversation_json_schema,
    document_errors,
    group_conversations,
    parse_seed_file,
    seed_file_issues,
    validate_conversation_turns,
)

# file number -> (turns, analysed sentences), as counted in the upstream files 01-09
REAL_FILE_COUNTS = {
    1: (3, 31),
    2: (4, 45),
    3: (4, 49),
    4: (5, 24),
    5: (4, 21),
    6: (4, 22),
    7: (3, 22),
    8: (4, 27),
    9: (4, 32),
}


def _real_file(folder: Path, number: int) -> Path:
    matches = sorted(folder.glob(f"*-convo-{number:02d}-complete.json"))
    if not matches:
        pytest.skip(f"upstream seed file {number:02d} not found in {folder}: skipping")
    return matches[0]


def _errors(data: Any) -> list[DocumentError]:
    seed, errors = parse_seed_file(data)
    assert seed is None, "expected the document to be rejected"
    return errors


def _error_at(errors: list[DocumentError], path: str) -> DocumentError:
    found = [error for error in errors if error.path == path]
    assert found, f"no error at {path}; got {[(e.path, e.message) for e in errors]}"
    return found[0]


# ----------------------------------------------------------------------------- real upstream files


@pytest.mark.parametrize("number", sorted(REAL_FILE_COUNTS))
def test_real_file_round_trips_losslessly(upstream_seeds: Path, number: int) -> None:
    source = json.loads(_real_file(upstream_seeds, number).read_text(encoding="utf-8"))

    dumped = SeedFile.model_validate(source).to_json_dict()

    assert dumped == source
    assert json_identical(dumped, source), "a JSON type changed (e.g. int 5 became float 5.0)"


@pytest.mark.parametrize("number", sorted(REAL_FILE_COUNTS))
def test_real_file_groups_into_one_conversation_that_rebuilds_the_source(upstream_seeds: Path, number: int) -> None:
    source = json.loads(_real_file(upstream_seeds, number).read_text(encoding="utf-8"))
    seed = SeedFile.model_validate(source)

    docs = group_conversations(seed)

    assert len(docs) == 1
    assert json_identical(docs[0].to_single_file_dict(), source)
    issues = seed_file_issues(seed)
    assert [issue for issue in issues if issue.severity is Severity.ERROR] == []
    assert {issue.code for issue in issues} <= {"total_sentences_mismatch"}


def test_real_files_turn_and_sentence_counts(upstream_seeds: Path) -> None:
    turns: dict[int, int] = {}
    sentences: dict[int, int] = {}
    for number in REAL_FILE_COUNTS:
        seed = SeedFile.model_validate_json(_real_file(upstream_seeds, number).read_text(encoding="utf-8"))
        pairs = seed.training_pairs or []
        turns[number] = len(pairs)
        sentences[number] = sum(len(pair.response_breakdown.sentences) for pair in pairs)

    assert turns == {number: counts[0] for number, counts in REAL_FILE_COUNTS.items()}
    assert sentences == {number: counts[1] for number, counts in REAL_FILE_COUNTS.items()}
    assert list(turns.values()) == [3, 4, 4, 5, 4, 4, 3, 4, 4]
    assert list(sentences.values()) == [31, 45, 49, 24, 21, 22, 22, 27, 32]
    assert sum(sentences.values()) == 273


# ----------------------------------------------------------------------------- invented documents


def test_invented_single_file_round_trips_with_json_types_kept() -> None:
    source = make_single_file()
    source = with_value(source, ("training_pairs", 0, "training_metadata", "quality_score"), 4.5)
    source = with_value(source, ("training_pairs", 1, "emotional_context", "detected_emotions", "intensity"), 1)

    dumped = SeedFile.model_validate(source).to_json_dict()

    assert json_identical(dumped, source)
    assert dumped["training_pairs"][0]["training_metadata"]["reviewer_notes"] is None  # explicit null kept
    assert "red_flags" not in dumped["training_pairs"][0]["emotional_context"]  # absent stays absent


def test_unknown_fields_are_kept_at_every_level() -> None:
    pair = make_pair()
    pair["pair_extra"] = {"nested": [1, 2.5, True, None]}
    pair["emotional_context"]["context_extra"] = "kept"
    pair["emotional_context"]["detected_emotions"]["emotion_extra"] = 0.25
    pair["response_breakdown"]["sentences"][0]["sentence_extra"] = ["a", "b"]
    pair["training_metadata"]["metadata_extra"] = 7
    pair["conversation_history"] = [{"turn": 1, "content": "earlier", "history_extra": False}]
    pair["turn_number"] = 2
    pair["training_metadata"]["conversation_turn"] = 2
    pair["id"] = "test_conv_001_turn2"
    source = make_single_file([make_pair(), pair])
    source["top_extra"] = {"anything": "goes"}
    source["consultant_profile"]["profile_extra"] = 1

    dumped = SeedFile.model_validate(source).to_json_dict()

    assert json_identical(dumped, source)
    kept = dumped["training_pairs"][1]
    assert kept["pair_extra"] == {"nested": [1, 2.5, True, None]}
    assert kept["emotional_context"]["detected_emotions"]["emotion_extra"] == 0.25
    assert kept["response_breakdown"]["sentences"][0]["sentence_extra"] == ["a", "b"]
    assert kept["conversation_history"][0]["history_extra"] is False
    assert dumped["top_extra"] == {"anything": "goes"}


def test_free_text_valence_pacing_and_long_structure_type_are_accepted() -> None:
    pair = make_pair()
    pair["emotional_context"]["detected_emotions"]["valence"] = "mixed_but_slowly_improving"
    pair["response_strategy"]["pacing"] = "slow_then_brisk_once_trust_is_built"
    pair["response_breakdown"]["structure_type"] = "validate → " * 30
    pair["emotional_context"]["emotional_indicators"]["single_phrase_form"] = "a lone string"

    parsed = TrainingPair.model_validate(pair)

    assert parsed.response_strategy.pacing == "slow_then_brisk_once_trust_is_built"
    assert json_identical(parsed.to_json_dict(), pair)


# ----------------------------------------------------------------------------- errors with JSON paths


def test_quality_score_out_of_range_is_an_error_with_its_path() -> None:
    data = with_value(make_single_file(), ("training_pairs", 1, "training_metadata", "quality_score"), 7.5)

    error = _error_at(_errors(data), "$.training_pairs[1].training_metadata.quality_score")

    assert error.path.endswith(".training_metadata.quality_score")
    assert "between 1 and 5" in error.message
    assert error.input == "7.5"


def test_quality_criteria_values_are_scores() -> None:
    data = make_single_file()
    data["training_pairs"][0]["training_metadata"]["quality_criteria"]["warmth score"] = 0

    error = _error_at(_errors(data), '$.training_pairs[0].training_metadata.quality_criteria["warmth score"]')

    assert "between 1 and 5" in error.message


@pytest.mark.parametrize("bad", [True, "5"])
def test_scores_are_not_coerced_from_other_json_types(bad: object) -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "training_metadata", "quality_score"), bad)

    error = _error_at(_errors(data), "$.training_pairs[0].training_metadata.quality_score")

    assert "must be a number" in error.message


def test_turn_number_zero_is_an_error() -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "turn_number"), 0)

    error = _error_at(_errors(data), "$.training_pairs[0].turn_number")

    assert "of at least 1" in error.message
    assert error.input == "0"


def test_more_than_six_exchanges_import_but_are_too_many_for_the_generator() -> None:
    # Pair numbers count half pairs too, and the user's files may hold long conversations: no cap on import.
    seed = SeedFile.model_validate(make_single_file(make_conversation("test_conv_long", turns=7)))

    assert [issue for issue in seed_file_issues(seed) if issue.severity is Severity.ERROR] == []
    strict = validate_conversation_turns(seed.training_pairs or [])
    assert [(issue.code, issue.path) for issue in strict] == [("too_many_turns", "$.training_pairs[6]")]


def test_long_conversation_id_is_an_error_with_a_truncated_input() -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "conversation_id"), "c" * 500)

    error = _error_at(_errors(data), "$.training_pairs[0].conversation_id")

    assert "500 characters" in error.message
    assert "at most 100" in error.message
    assert error.input is not None
    assert len(error.input) <= 80


def test_id_with_spaces_is_an_error() -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "id"), "turn one")

    error = _error_at(_errors(data), "$.training_pairs[0].id")

    assert "letters, digits" in error.message


def test_a_conversation_without_any_reply_is_an_error() -> None:
    data = without_key(
        make_single_file(make_conversation("test_conv_mute", turns=1)), ("training_pairs", 0, "target_response")
    )

    issues = seed_file_issues(SeedFile.model_validate(data))

    assert [(issue.severity, issue.code, issue.path) for issue in issues] == [
        (Severity.ERROR, "no_reply", "$.training_pairs[0].target_response")
    ]


def test_a_reply_that_is_not_a_string_is_an_error() -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "target_response"), 42)

    error = _error_at(_errors(data), "$.training_pairs[0].target_response")

    assert "must be a string" in error.message


@pytest.mark.parametrize("field", ["current_user_input", "system_prompt"])
def test_blank_required_text_is_an_error(field: str) -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, field), "   ")

    error = _error_at(_errors(data), f"$.training_pairs[0].{field}")

    assert "must not be empty" in error.message


def test_empty_pacing_is_an_error() -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "response_strategy", "pacing"), "")

    _error_at(_errors(data), "$.training_pairs[0].response_strategy.pacing")


def test_confidence_above_one_is_an_error() -> None:
    path = ("training_pairs", 0, "emotional_context", "detected_emotions", "primary_confidence")
    data = with_value(make_single_file(), path, 80)

    error = _error_at(_errors(data), "$.training_pairs[0].emotional_context.detected_emotions.primary_confidence")

    assert "between 0 and 1" in error.message


def test_progression_intensity_above_one_is_an_error() -> None:
    path = ("training_pairs", 1, "emotional_context", "emotional_progression")
    data = with_value(make_single_file(), path, {"current_turn_intensity": 3, "trajectory": "up"})

    error = _error_at(_errors(data), "$.training_pairs[1].emotional_context.emotional_progression")

    assert "current_turn_intensity" in error.message


def test_word_choice_rationale_needs_an_entry() -> None:
    path = ("training_pairs", 0, "response_breakdown", "sentences", 1, "word_choice_rationale")
    data = with_value(make_single_file(), path, {})

    error = _error_at(_errors(data), "$.training_pairs[0].response_breakdown.sentences[1].word_choice_rationale")

    assert "at least one entry" in error.message


def test_sentence_numbers_must_run_in_order() -> None:
    path = ("training_pairs", 0, "response_breakdown", "sentences", 1, "sentence_number")
    data = with_value(make_single_file(), path, 3)

    error = _error_at(_errors(data), "$.training_pairs[0].response_breakdown.sentences")

    assert "sentences[1] has sentence_number 3 but should be 2" in error.message


def test_history_entry_needs_content() -> None:
    data = with_value(make_single_file(), ("training_pairs", 1, "conversation_history", 0), {"turn": 1})

    _error_at(_errors(data), "$.training_pairs[1].conversation_history[0]")


@pytest.mark.parametrize("layout", ["both", "neither"])
def test_a_file_has_exactly_one_layout(layout: str) -> None:
    data = make_single_file()
    if layout == "both":
        data["conversations"] = make_multi_file([make_conversation()])["conversations"]
    else:
        del data["training_pairs"]

    error = _error_at(_errors(data), "$")

    assert layout in error.message


def test_document_errors_reads_a_raised_validation_error() -> None:
    data = with_value(make_single_file(), ("training_pairs", 0, "turn_number"), 0)
    with pytest.raises(ValidationError) as raised:
        SeedFile.model_validate(data)

    errors = document_errors(raised.value)

    assert [error.path for error in errors] == ["$.training_pairs[0].turn_number"]
    assert errors[0].as_issue().severity is Severity.ERROR


# ----------------------------------------------------------------------------- conversation-level checks


def _pairs(*numbers: int, conversation_id: str = "test_conv_001") -> list[TrainingPair]:
    return [
        TrainingPair.model_validate(make_pair(conversation_id, number, id=f"{conversation_id}_p{index}"))
        for index, number in enumerate(numbers)
    ]


def test_consecutive_turns_have_no_issues() -> None:
    assert validate_conversation_turns(_pairs(1, 2, 3), declared_turns=3) == []


@pytest.mark.parametrize("numbers", [(1, 3), (1, 1), (2, 1)])
def test_turn_gaps_duplicates_and_disorder_are_errors(numbers: tuple[int, ...]) -> None:
    issues = validate_conversation_turns(_pairs(*numbers))

    assert issues
    assert {issue.code for issue in issues} == {"turn_numbering"}
    assert all(issue.severity is Severity.ERROR for issue in issues)
    assert all(issue.path.endswith(".turn_number") for issue in issues)


def test_declared_turn_count_mismatch_is_an_error() -> None:
    issues = validate_conversation_turns(_pairs(1, 2), declared_turns=3)

    assert [(issue.severity, issue.code, issue.path) for issue in issues] == [
        (Severity.ERROR, "declared_turns_mismatch", "$.dataset_metadata.total_turns")
    ]


def test_conversation_turn_must_equal_turn_number() -> None:
    pair = make_pair(turn_number=1)
    pair["training_metadata"]["conversation_turn"] = 2

    issues = validate_conversation_turns([TrainingPair.model_validate(pair)])

    assert [(issue.code, issue.path) for issue in issues] == [
        ("conversation_turn_mismatch", "$.training_pairs[0].training_metadata.conversation_turn")
    ]


def test_total_sentences_mismatch_is_a_warning() -> None:
    pair = make_pair(sentences=3)
    pair["response_breakdown"]["total_sentences"] = 5

    issues = validate_conversation_turns([TrainingPair.model_validate(pair)])

    assert [(issue.severity, issue.code) for issue in issues] == [(Severity.WARNING, "total_sentences_mismatch")]


def test_pairs_must_share_the_conversation_id() -> None:
    pairs = _pairs(1) + _pairs(2, conversation_id="other_conv")

    issues = validate_conversation_turns(pairs)

    assert [(issue.code, issue.path) for issue in issues] == [
        ("conversation_id_mismatch", "$.training_pairs[1].conversation_id")
    ]


def test_seed_file_issues_checks_declared_totals() -> None:
    data = with_value(make_single_file(), ("dataset_metadata", "total_turns"), 5)

    issues = seed_file_issues(SeedFile.model_validate(data))

    assert [(issue.code, issue.path) for issue in issues] == [
        ("declared_turns_mismatch", "$.dataset_metadata.total_turns")
    ]


# ----------------------------------------------------------------------------- grouping and layouts


def test_multi_layout_groups_each_conversation_and_rebuilds_single_files() -> None:
    first = make_conversation("test_conv_a", turns=2)
    second = make_conversation("test_conv_b", turns=3)
    data = make_multi_file([first, second])
    data["conversations"][1]["block_extra"] = "kept with its conversation"
    seed = SeedFile.model_validate(data)

    docs = group_conversations(seed)

    assert seed.layout == "multi"
    assert json_identical(seed.to_json_dict(), data)
    assert [doc.conversation_id for doc in docs] == ["test_conv_a", "test_conv_b"]
    assert [len(doc.pairs) for doc in docs] == [2, 3]
    assert docs[1].pair_paths[0] == "$.conversations[1].training_pairs[0]"
    rebuilt = [doc.to_single_file_dict() for doc in docs]
    for single, pairs, block in zip(rebuilt, [first, second], data["conversations"], strict=True):
        assert json_identical(single["training_pairs"], pairs)
        assert json_identical(single["consultant_profile"], data["consultant_profile"])
        assert json_identical(single["conversation_metadata"], block["conversation_metadata"])
        assert single["dataset_metadata"]["total_turns"] == len(pairs)
        assert single["dataset_metadata"]["total_conversations"] == 1
        assert SeedFile.model_validate(single).layout == "single"
    assert rebuilt[1]["block_extra"] == "kept with its conversation"
    assert "block_extra" not in rebuilt[0]
    assert seed_file_issues(seed) == []
    assert all(doc.issues() == [] for doc in docs)


def test_single_layout_with_one_conversation_rebuilds_the_source() -> None:
    data = make_single_file(make_conversation(turns=3))
    seed = SeedFile.model_validate(data)

    docs = group_conversations(seed)

    assert seed.layout == "single"
    assert len(docs) == 1
    assert json_identical(docs[0].to_single_file_dict(), data)
    assert json_identical(docs[0].to_seed_file().to_json_dict(), data)


def test_multi_layout_block_turn_count_mismatch_is_a_warning_and_marks_it_incomplete() -> None:
    data = make_multi_file([make_conversation("test_conv_a", turns=2)])
    data["conversations"][0]["conversation_metadata"]["total_turns"] = 4
    seed = SeedFile.model_validate(data)

    issues = seed_file_issues(seed)

    assert [(issue.severity, issue.code, issue.path) for issue in issues] == [
        (Severity.WARNING, "declared_turns_mismatch", "$.conversations[0].conversation_metadata.total_turns")
    ]
    assert "declares 4 turns" in issues[0].message
    assert "2 training pairs" in issues[0].message
    (doc,) = group_conversations(seed)
    assert doc.incomplete
    assert doc.to_single_file_dict()["conversation_metadata"]["total_turns"] == 4


# ----------------------------------------------------------------------------- JSON schema


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_conversation_json_schema_is_self_contained() -> None:
    schema = conversation_json_schema()

    assert isinstance(schema, dict)
    assert set(schema["required"]) == {"conversation_metadata", "training_pairs"}
    pair_schema = schema["properties"]["training_pairs"]["items"]
    assert "training_metadata" in pair_schema["required"]
    assert pair_schema["properties"]["turn_number"]["maximum"] == 6
    defs = schema.get("$defs", {})
    assert all(ref.removeprefix("#/$defs/") in defs for ref in _refs(schema)), "unresolved $ref"
    assert _refs(schema) == []
    json.dumps(schema)  # serialisable as-is
