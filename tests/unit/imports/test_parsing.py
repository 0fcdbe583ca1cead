"""Reading one seed file: every kind of bad input gives a located, readable error; repair says what changed."""

from __future__ import annotations

import json
from pathlib import Path

import json_repair
import pytest

from tests.helpers.documents import make_conversation, make_multi_file, make_single_file, with_value
from tests.helpers.seed_files import UPSTREAM_BROKEN, UPSTREAM_GOOD, good_seed, write_json, write_text
from training_data_studio.imports.parsing import (
    MAX_FILE_BYTES,
    SeedSource,
    describe_repairs,
    parse_source,
    path_at,
)


def _parse(path: Path, *, repair: bool = False) -> tuple[list[str], list[str]]:
    parsed = parse_source(SeedSource.from_path(path), repair=repair)
    return [e.text for e in parsed.errors], [w.text for w in parsed.warnings]


def test_a_good_single_file_gives_one_conversation(tmp_path: Path) -> None:
    parsed = parse_source(SeedSource.from_path(write_json(tmp_path, "good.json", good_seed("conv_a", 3))))
    assert parsed.ok
    assert [(d.conversation_id, len(d.pairs)) for d in parsed.docs] == [("conv_a", 3)]


def test_a_multi_layout_file_gives_one_conversation_per_block(tmp_path: Path) -> None:
    document = make_multi_file([make_conversation("conv_a", 2), make_conversation("conv_b", 3)])
    parsed = parse_source(SeedSource.from_path(write_json(tmp_path, "multi.json", document)))
    assert parsed.ok, [e.text for e in parsed.errors]
    assert [(d.conversation_id, len(d.pairs)) for d in parsed.docs] == [("conv_a", 2), ("conv_b", 3)]
    assert parsed.docs[1].pair_paths[0] == "$.conversations[1].training_pairs[0]"


def test_pairs_of_two_conversations_in_one_single_layout_file_are_grouped(tmp_path: Path) -> None:
    document = make_single_file(make_conversation("conv_a", 2) + make_conversation("conv_b", 1))
    parsed = parse_source(SeedSource.from_path(write_json(tmp_path, "two.json", document)))
    assert parsed.ok, [e.text for e in parsed.errors]
    assert [(d.conversation_id, len(d.pairs)) for d in parsed.docs] == [("conv_a", 2), ("conv_b", 1)]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    errors, _ = _parse(write_text(tmp_path, "empty.json", "  \n"))
    assert errors == [f"{tmp_path / 'empty.json'}: file is empty: expected a JSON seed file"]


def test_text_that_is_not_json_names_line_and_column(tmp_path: Path) -> None:
    errors, _ = _parse(write_text(tmp_path, "notes.json", "\nthese are my notes, not JSON\n"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'notes.json'}: line 2, column 1: $: is not valid JSON: Expecting value")
    assert "Import with repair" in errors[0]  # the option by its name on the page; the CLI adds its flag


def test_not_json_stays_refused_with_repair(tmp_path: Path) -> None:
    errors, _ = _parse(write_text(tmp_path, "notes.json", "these are my notes"), repair=True)
    assert errors == [
        f"{tmp_path / 'notes.json'}: line 1, column 1: is not valid JSON and json-repair could not recover a JSON "
        "object from it"
    ]


@pytest.mark.parametrize("document", [[1, 2, 3], "a string", {"hello": "world"}])
def test_json_of_the_wrong_shape_is_refused(tmp_path: Path, document: object) -> None:
    errors, _ = _parse(write_json(tmp_path, "shape.json", document))
    assert errors
    assert all(e.startswith(f"{tmp_path / 'shape.json'}: $") for e in errors)
    assert len(errors) == 1
    assert (
        "is not a seed file of a known layout; expected {dataset_metadata, consultant_profile, training_pairs}"
        in (errors[0])
    )
    assert "{training_file_metadata, consultant_profile, conversations}" in errors[0]
    assert "JSON Lines" in errors[0]
    assert errors[0].endswith(
        "found keys hello"
        if isinstance(document, dict)
        else "found an array"
        if isinstance(document, list)
        else "found a string"
    )


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: costs no disk and no time

    def must_not_read() -> bytes:
        raise AssertionError("a file over the limit must not be read")

    source = SeedSource(name=str(big), size=big.stat().st_size, read=must_not_read)
    parsed = parse_source(source)
    assert [e.text for e in parsed.errors] == [
        f"{big}: file is 50.0 MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB: split it into smaller files"
    ]
    assert parse_source(SeedSource.from_path(big)).errors[0].code == "too_large"


def test_a_file_that_is_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    content = json.dumps(good_seed(), indent=2).encode("utf-8")
    offset = content.index(b"Test user message")
    broken = content[:offset] + "Caf\u00e9 ".encode("latin-1") + content[offset:]
    path = write_text(tmp_path, "latin1.json", broken)
    errors, _ = _parse(path)
    line = broken.count(b"\n", 0, offset + 3) + 1
    assert errors == [
        f"{path}: is not UTF-8 text: byte 0xe9 at byte offset {offset + 3} (line {line}) cannot be decoded; "
        "save the file as UTF-8"
    ]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write_text(tmp_path, "bom.json", b"\xef\xbb\xbf" + json.dumps(good_seed()).encode("utf-8"))
    assert _parse(path) == ([], [])


def test_a_turn_number_repeated_is_refused_with_its_path(tmp_path: Path) -> None:
    document = with_value(good_seed(), ("training_pairs", 1, "turn_number"), 1)
    errors, _ = _parse(write_json(tmp_path, "again.json", document))
    assert errors == [
        f"{tmp_path / 'again.json'}: $.training_pairs[1].turn_number: turn_number is 1 after turn 1; put the pairs "
        "of a conversation in order, each number once"
    ]


def test_a_gap_in_the_turn_numbers_is_a_warning(tmp_path: Path) -> None:
    document = with_value(good_seed(), ("training_pairs", 1, "turn_number"), 4)
    errors, warnings = _parse(write_json(tmp_path, "gap.json", document))
    assert errors == []
    assert any(
        "$.training_pairs[1].turn_number: turn_number is 4 after 1: turn(s) 2, 3 are not in this file" in w
        for w in warnings
    )


def test_a_quality_score_of_7_5_is_refused_with_its_path(tmp_path: Path) -> None:
    pairs = make_conversation("conv_a", 3)
    pairs[2]["training_metadata"]["quality_score"] = 7.5
    errors, _ = _parse(write_json(tmp_path, "score.json", make_single_file(pairs)))
    assert errors == [
        f"{tmp_path / 'score.json'}: $.training_pairs[2].training_metadata.quality_score: must be between 1 and 5 "
        "(got 7.5); scores use the 1-5 rubric (5 is best); rescale other scales to 1-5"
    ]


def test_a_conversation_id_of_500_characters_is_refused(tmp_path: Path) -> None:
    long_id = "c" * 500
    errors, _ = _parse(write_json(tmp_path, "long.json", good_seed(long_id, 1)))
    assert errors
    assert any(
        e.startswith(f"{tmp_path / 'long.json'}: $.training_pairs[0].conversation_id: is 500 characters long")
        for e in errors
    )


def test_conversation_level_errors_reject_the_file(tmp_path: Path) -> None:
    pairs = make_conversation("conv_a", 3)
    pairs[2]["turn_number"] = 2
    pairs[2]["training_metadata"]["conversation_turn"] = 2
    parsed = parse_source(SeedSource.from_path(write_json(tmp_path, "gap.json", make_single_file(pairs))))
    assert not parsed.ok
    assert parsed.docs == []
    assert any("$.training_pairs[2].turn_number: turn_number is 2" in e.text for e in parsed.errors)


def test_warnings_are_reported_and_the_file_still_loads(tmp_path: Path) -> None:
    document = with_value(good_seed(), ("training_pairs", 0, "response_breakdown", "total_sentences"), 5)
    parsed = parse_source(SeedSource.from_path(write_json(tmp_path, "warn.json", document)))
    assert parsed.ok
    assert [w.json_path for w in parsed.warnings] == ["$.training_pairs[0].response_breakdown.total_sentences"]


def test_unknown_fields_are_kept(tmp_path: Path) -> None:
    document = with_value(good_seed(), ("training_pairs", 0, "our_own_note"), {"kept": True})
    parsed = parse_source(SeedSource.from_path(write_json(tmp_path, "extra.json", document)))
    assert parsed.ok
    assert parsed.docs[0].pairs[0].to_json_dict()["our_own_note"] == {"kept": True}


def test_a_syntax_error_is_refused_by_default_and_repaired_on_request(tmp_path: Path) -> None:
    text = json.dumps(good_seed(), indent=2)
    broken = text.replace('"says thanks"', "says thanks", 1)
    path = write_text(tmp_path, "broken.json", broken)
    line = broken[: broken.index("says thanks")].count("\n") + 1
    column = broken.index("says thanks") - broken.rfind("\n", 0, broken.index("says thanks"))

    errors, _ = _parse(path)
    location = f"line {line}, column {column}"
    assert errors[0].startswith(
        f"{path}: {location}: $.training_pairs[0].expected_user_response_patterns.positive_indicators[0]: "
        "is not valid JSON: Expecting value"
    )

    errors, warnings = _parse(path, repair=True)
    assert errors == []
    assert warnings == [
        f"{path}: {location}: $.training_pairs[0].expected_user_response_patterns.positive_indicators[0]: "
        "Expecting value; repaired by json-repair: the unquoted array item `says thanks` became the string "
        "'says thanks'"
    ]


def test_upstream_file_10_is_refused_at_line_420_column_52(upstream_seeds: Path) -> None:
    errors, _ = _parse(upstream_seeds / UPSTREAM_BROKEN)
    assert len(errors) == 1
    assert f"{UPSTREAM_BROKEN}: line 420, column 52: " in errors[0]


def test_upstream_file_10_repaired_says_what_changed(upstream_seeds: Path) -> None:
    parsed = parse_source(SeedSource.from_path(upstream_seeds / UPSTREAM_BROKEN), repair=True)
    assert parsed.ok
    assert parsed.repaired
    repairs = [w for w in parsed.warnings if w.code == "json_repaired"]
    assert len(repairs) == 1
    assert (repairs[0].line, repairs[0].column) == (420, 52)
    assert repairs[0].json_path == "$.training_pairs[1].emotional_context.emotional_indicators.transparency[1]"
    assert "the unquoted array item `lists all numbers` became the string 'lists all numbers'" in repairs[0].message
    assert [(d.conversation_id, len(d.pairs)) for d in parsed.docs] == [("fp_david_002", 3)]


def test_upstream_files_01_to_09_parse_with_warnings_only(upstream_seeds: Path) -> None:
    for name in UPSTREAM_GOOD:
        parsed = parse_source(SeedSource.from_path(upstream_seeds / name))
        assert parsed.ok, [e.text for e in parsed.errors]
        assert {w.code for w in parsed.warnings} <= {"total_sentences_mismatch"}


@pytest.mark.parametrize(
    ("text", "notes"),
    [
        ('{"a": [1, 2,]}', [(1, 13, "$.a[2]", "a trailing comma before it was removed")]),
        ('{"a": 1 "b": 2}', [(1, 9, "$.a", "a missing comma was inserted here")]),
        (
            '{"a": [x, y]}',
            [
                (1, 8, "$.a[0]", "the unquoted array item `x` became the string 'x'"),
                (1, 11, "$.a[1]", "the unquoted array item `y` became the string 'y'"),
            ],
        ),
        ('{"a": tru}', [(1, 7, "$.a", "the unquoted value `tru` became the string 'tru'")]),
    ],
)
def test_describe_repairs_names_each_spot(text: str, notes: list[tuple[int, int, str, str]]) -> None:
    described = describe_repairs(text, json_repair.loads(text))
    assert [(n.line, n.column, n.path) for n in described] == [(line, col, path) for line, col, path, _ in notes]
    for note, (_, _, _, fragment) in zip(described, notes, strict=True):
        assert fragment in note.message


def test_path_at_follows_objects_arrays_and_escaped_strings() -> None:
    text = '{"a": {"b\\"c": [1, {"d": [true, '
    assert path_at(text, len(text)) == ["a", 'b"c', 1, "d", 1]
    assert path_at('{"a": 1, ', 9) == []
