"""The user's later layouts, parsed without a database: half pairs become exchanges, open endings stay out
of the turns, declared totals are warnings, ids are the conversations' own, and every field round-trips."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.documents import json_identical
from tests.helpers.later_layouts import (
    make_block,
    make_generated_file,
    make_half_pair_conversation,
    make_jsonl,
    make_lean_pair,
    make_training_file,
    message,
    reply,
)
from tests.helpers.seed_files import write_json, write_text
from training_data_studio.conversations.document import ANNOTATION_BLOCKS
from training_data_studio.imports.parsing import ParsedSeed, SeedSource, parse_source
from training_data_studio.quality.checks import evaluate

V4_EXAMPLE = "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json"
V4_JSONL = "c-alpha-build_v3.4_emotional-dataset-full-JSON-format_v4.jsonl"
ENRICHED = "enriched-2.json"


def _parse(path: Path) -> ParsedSeed:
    return parse_source(SeedSource.from_path(path))


def _codes(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [problem.code for problem in problems]


def test_half_pairs_become_exchanges_and_round_trip(tmp_path: Path) -> None:
    conversation_id = "0b7f6a52-4c1e-4f4e-9a51-3c2f5f1f0a11"
    block = make_block(make_half_pair_conversation("saving", 3), conversation_id=conversation_id)
    document = make_training_file([block])

    parsed = _parse(write_json(tmp_path, "v4.json", document))

    assert parsed.errors == []
    assert parsed.layout == "training_file"
    (doc,) = parsed.docs
    assert doc.conversation_id == conversation_id
    assert [pair.current_user_input for pair in doc.pairs] == [message(n) for n in (1, 2, 3)]
    assert [pair.reply for pair in doc.pairs] == [reply(n) for n in (1, 2, 3)]
    assert doc.pairs_merged == 3
    assert parsed.pairs_merged == 3
    assert doc.open_ending == []
    assert json_identical(doc.source_pairs_json(), block["training_pairs"])
    assert json_identical(doc.to_single_file_dict()["conversation_metadata"], block["conversation_metadata"])


def test_a_conversation_ending_on_a_client_message_keeps_it_as_its_open_ending(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 2, open_ending=True)
    parsed = _parse(write_json(tmp_path, "open.json", make_training_file([make_block(pairs)])))

    assert parsed.errors == []
    (doc,) = parsed.docs
    assert len(doc.pairs) == 2
    assert all(pair.reply.strip() for pair in doc.pairs)
    assert doc.open_message == pairs[-1]["current_user_input"]
    assert json_identical(doc.source_pairs_json(), pairs)


def test_an_unanswered_message_in_the_middle_is_a_warning_and_still_round_trips(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 2)
    pairs[0]["current_user_input"] = "An invented message that the next pair does not repeat."
    parsed = _parse(write_json(tmp_path, "odd.json", make_training_file([make_block(pairs)])))

    assert parsed.errors == []
    assert "unanswered_message" in _codes(parsed.warnings)
    (doc,) = parsed.docs
    assert doc.pairs_merged == 1
    assert len(doc.pairs) == 2
    assert json_identical(doc.source_pairs_json(), pairs)


def test_lean_pairs_import_with_their_missing_blocks_named_by_the_quality_checks(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 2)
    parsed = _parse(write_json(tmp_path, "lean.json", make_training_file([make_block(pairs)])))
    (doc,) = parsed.docs

    present = ("emotional_context.detected_emotions", "training_metadata")
    assert doc.missing_blocks() == [name for name in ANNOTATION_BLOCKS if name not in present]
    assert doc.missing_blocks()[-1] == "expected_user_response_patterns"
    quality = evaluate(doc.pairs, tier=None, status="approved", is_seed=False)
    lean = next(result for result in quality.checks if result.key == "annotation_blocks_present")
    assert lean.passed is False
    assert lean.issues[0].message.startswith("Lean annotation on turn 1: no emotional_context.emotional_indicators")
    assert not quality.ready_for_training
    assert quality.as_row()["needs_review"] is True


def test_declared_totals_that_disagree_are_warnings_with_both_numbers(tmp_path: Path) -> None:
    # A file declaring 10 conversations / 38 pairs that holds 3 / 8, one conversation holding 1 of its 4 pairs.
    blocks = [
        make_block(make_half_pair_conversation("alpha", 2)),
        make_block(make_half_pair_conversation("beta", 1)),
        make_block(
            [make_lean_pair("gamma", 1, user_input=message(1), target=reply(1))],
            declared_turns=4,
        ),
    ]
    blocks[1]["training_pairs"].append(
        make_lean_pair("beta", 3, user_input=message(2), target=reply(2)),
    )
    document = make_training_file(blocks, declared_conversations=10, declared_pairs=38)

    parsed = _parse(write_json(tmp_path, "claims.json", document))

    assert parsed.errors == []
    texts = [warning.describe(with_file=False) for warning in parsed.warnings]
    assert (
        "$.training_file_metadata.total_conversations: declares 10 conversations but the file holds 3; the declared "
        "value is kept as written and the stored counts are the real ones"
    ) in texts
    assert any(
        t.startswith("$.training_file_metadata.total_training_pairs: declares 38 training pairs but the file holds 8")
        for t in texts
    )
    assert any(
        t.startswith(
            "$.conversations[2].conversation_metadata.total_turns: declares 4 turns but the conversation has 1"
        )
        and "incomplete" in t
        for t in texts
    )
    assert [doc.incomplete for doc in parsed.docs] == [False, False, True]
    # The claims are kept verbatim for the round trip of the block.
    assert parsed.docs[2].to_single_file_dict()["conversation_metadata"]["total_turns"] == 4


def test_pair_ids_repeated_across_conversations_get_distinct_stored_turn_ids(tmp_path: Path) -> None:
    blocks = [make_block(make_half_pair_conversation("therapy", 1)) for _ in range(2)]
    parsed = _parse(write_json(tmp_path, "same_ids.json", make_training_file(blocks)))

    assert parsed.errors == []
    first, second = parsed.docs
    assert first.pairs[0].id == second.pairs[0].id == "therapy_turn2"
    assert first.turn_ids() == [f"{first.conversation_id}/therapy_turn2"]
    assert set(first.turn_ids()).isdisjoint(second.turn_ids())


def test_a_pair_id_repeated_inside_one_conversation_is_a_warning_with_distinct_turn_ids(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("twice", 2)
    pairs[3]["id"] = pairs[1]["id"]
    parsed = _parse(write_json(tmp_path, "twice.json", make_training_file([make_block(pairs)])))

    assert parsed.errors == []
    assert "duplicate_pair_id" in _codes(parsed.warnings)
    (doc,) = parsed.docs
    assert len(set(doc.turn_ids())) == 2


def test_json_lines_with_a_meta_line_group_by_conversation_and_name_lines(tmp_path: Path) -> None:
    first, second = "c1a2b3c4-0000-4000-8000-000000000001", "c1a2b3c4-0000-4000-8000-000000000002"
    pairs = [
        *make_half_pair_conversation("saving", 1, conversation_id=first),
        *make_half_pair_conversation("saving", 2, conversation_id=second),
    ]
    text = make_jsonl(pairs, meta={"file_name": "invented", "total_pairs": 9})

    parsed = _parse(write_text(tmp_path, "pairs.jsonl", text))

    assert parsed.errors == []
    assert parsed.layout == "jsonl"
    assert [doc.conversation_id for doc in parsed.docs] == [first, second]
    assert [len(doc.pairs) for doc in parsed.docs] == [1, 2]
    assert parsed.pairs_merged == 3
    assert [w.describe(with_file=False) for w in parsed.warnings] == [
        "line 1, column 1: $._meta.total_pairs: declares 9 training pairs but the file holds 6; the declared value "
        "is kept as written and the stored counts are the real ones"
    ]
    assert parsed.docs[0].envelope == {"_meta": {"file_name": "invented", "total_pairs": 9}}


def test_json_lines_detected_without_the_extension(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 1, conversation_id="c1a2b3c4-0000-4000-8000-000000000003")
    parsed = _parse(write_text(tmp_path, "pairs.json", make_jsonl(pairs)))

    assert parsed.errors == []
    assert parsed.layout == "jsonl"


def test_json_lines_errors_name_the_line(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 1, conversation_id="c1a2b3c4-0000-4000-8000-000000000004")
    pairs[1]["turn_number"] = "two"
    lines = make_jsonl(pairs, meta={"total_pairs": 2}).splitlines()
    lines.append('{"id": "broken", ')
    lines.append('{"note": "not a pair"}')
    parsed = _parse(write_text(tmp_path, "bad.jsonl", "\n".join(lines) + "\n"))

    texts = [problem.describe(with_file=False) for problem in parsed.errors]
    assert texts[0].startswith("line 4, column 18: is not valid JSON: Expecting property name")
    assert texts[1].startswith("line 5, column 1: is not a training pair")
    assert "found keys note" in texts[1]
    assert parsed.docs == []


def test_json_lines_validation_errors_name_the_line_and_the_path_in_it(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 1, conversation_id="c1a2b3c4-0000-4000-8000-000000000005")
    pairs[1]["turn_number"] = "two"
    parsed = _parse(write_text(tmp_path, "bad.jsonl", make_jsonl(pairs, meta={"total_pairs": 2})))

    assert [problem.describe(with_file=False) for problem in parsed.errors] == [
        'line 3, column 1: $.turn_number: must be a whole JSON number, not a string; counting starts at 1 (got "two")'
    ]


def test_a_generated_file_is_keyed_by_the_uuid_of_its_dataset_name(tmp_path: Path) -> None:
    conversation_id = "7d0c2f0e-1111-4a2b-9c3d-222233334444"
    document = make_generated_file(make_half_pair_conversation("couples", 3), conversation_id)

    parsed = _parse(write_json(tmp_path, "generated.json", document))

    assert parsed.errors == []
    (doc,) = parsed.docs
    assert doc.conversation_id == conversation_id
    assert doc.scaffolding()["emotional_arc"] == "Doubt → Resolve"
    assert json_identical(doc.to_single_file_dict(), document)


def test_unknown_keys_are_kept_everywhere(tmp_path: Path) -> None:
    pairs = make_half_pair_conversation("saving", 1)
    pairs[0]["a_new_pipeline_field"] = [1, 2]
    pairs[1]["emotional_context"]["detected_emotions"]["arousal"] = 0.3
    block = make_block(pairs)
    block["block_level_note"] = "kept"
    document = make_training_file([block])

    (doc,) = _parse(write_json(tmp_path, "unknown.json", document)).docs

    exported = doc.to_single_file_dict()
    assert json_identical(exported["training_pairs"], pairs)
    assert exported["block_level_note"] == "kept"
    assert exported["training_file_metadata"]["an_unknown_key"] == {"kept": True}


# ----------------------------------------------------------------------------- the user's files, read in place


def test_the_v4_example_gives_three_conversations_of_real_exchanges(upstream_seeds: Path) -> None:
    path = upstream_seeds / V4_EXAMPLE
    source = json.loads(path.read_text(encoding="utf-8"))
    parsed = _parse(path)

    assert parsed.errors == []
    assert parsed.layout == "training_file"
    blocks = source["conversations"]
    assert [doc.conversation_id for doc in parsed.docs] == [
        b["conversation_metadata"]["conversation_id"] for b in blocks
    ]
    for doc, block in zip(parsed.docs, blocks, strict=True):
        replies = [pair["target_response"] for pair in block["training_pairs"] if pair["target_response"]]
        assert [pair.reply for pair in doc.pairs] == replies
        assert all(pair.reply.strip() for pair in doc.pairs)
        assert json_identical(doc.source_pairs_json(), block["training_pairs"])
        assert json_identical(doc.to_single_file_dict()["conversation_metadata"], block["conversation_metadata"])
        assert doc.scaffolding()["persona_key"] == block["conversation_metadata"]["scaffolding"]["persona_key"]
    nulls = sum(1 for b in blocks for pair in b["training_pairs"] if pair["target_response"] is None)
    assert parsed.pairs_merged == nulls


def test_the_v4_json_lines_hold_the_same_exchanges(upstream_seeds: Path) -> None:
    from_json = {doc.conversation_id: doc for doc in _parse(upstream_seeds / V4_EXAMPLE).docs}
    parsed = _parse(upstream_seeds / V4_JSONL)

    assert parsed.errors == []
    assert parsed.layout == "jsonl"
    assert parsed.docs
    for doc in parsed.docs:
        same = from_json[doc.conversation_id]
        assert [(p.current_user_input, p.reply) for p in doc.pairs] == [
            (p.current_user_input, p.reply) for p in same.pairs
        ]


def test_the_enriched_file_keeps_its_input_parameters(upstream_seeds: Path) -> None:
    path = upstream_seeds / ENRICHED
    source = json.loads(path.read_text(encoding="utf-8"))
    parsed = _parse(path)

    assert parsed.errors == []
    (doc,) = parsed.docs
    assert doc.envelope["input_parameters"] == source["input_parameters"]
    assert source["dataset_metadata"]["dataset_name"].endswith(doc.conversation_id)
    assert all(pair.reply.strip() for pair in doc.pairs)
    assert json_identical(doc.to_single_file_dict(), source)
