"""Content checks on generated conversations: each problem names its path and how to fix it."""

from __future__ import annotations

from typing import Any

import pytest

from training_data_studio.generation.checks import (
    MAX_RESPONSE_WORDS,
    MIN_RESPONSE_WORDS,
    Problem,
    check_reply,
    dangling_escape,
    ends_mid_sentence,
    render_problems,
    validate_reply,
)
from training_data_studio.llm.base import ProviderReply, Usage
from training_data_studio.plan.service import PlanRow
from training_data_studio.testing.fake_llm import build_conversation, faulty_conversation


def reply_for(
    data: dict[str, Any] | None, *, stop_reason: str = "tool_use", parse_error: str | None = None
) -> ProviderReply:
    return ProviderReply(
        data=data,
        output_text="{}",
        raw_response="{}",
        stop_reason=stop_reason,
        usage=Usage(input_tokens=10, output_tokens=20),
        model="claude-sonnet-4-6",
        parse_error=parse_error,
    )


@pytest.fixture
def conversation(plan_row: PlanRow) -> dict[str, Any]:
    return build_conversation(plan_row.conversation_id, plan_row.turn_count_target)


def codes(problems: list[Problem]) -> list[str]:
    return [problem.code for problem in problems]


def paths(problems: list[Problem]) -> list[str]:
    return [problem.path for problem in problems]


def test_a_conversation_built_from_our_samples_passes(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert report.warnings == []
    assert report.conversation is not None
    assert len(report.conversation.training_pairs) == plan_row.turn_count_target


def test_max_tokens_stop_reason_is_a_problem(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    problems = validate_reply(reply_for(conversation, stop_reason="max_tokens"), plan_row)
    assert codes(problems) == ["truncated"]
    assert "cut off at the output limit" in problems[0].message


def test_truncated_reply_from_the_fake_is_rejected_twice_over(plan_row: PlanRow) -> None:
    data = faulty_conversation("truncated", plan_row.conversation_id, plan_row.turn_count_target)
    problems = validate_reply(reply_for(data, stop_reason="max_tokens"), plan_row)
    last = plan_row.turn_count_target - 1
    assert codes(problems)[:2] == ["truncated", "ends_mid_sentence"]
    assert problems[1].path == f"$.training_pairs[{last}].target_response"


def test_no_json_object_is_reported(plan_row: PlanRow) -> None:
    problems = validate_reply(reply_for(None, parse_error="the reply is not valid JSON (x)"), plan_row)
    assert codes(problems) == ["not_json"]
    assert problems[0].message.startswith("the reply is not valid JSON")


@pytest.mark.parametrize(
    "ending",
    [" and then the", " and so,", " because —", ""],
)
def test_a_reply_ending_mid_sentence_is_rejected(conversation: dict[str, Any], plan_row: PlanRow, ending: str) -> None:
    pair = conversation["training_pairs"][1]
    pair["target_response"] = pair["target_response"].rstrip("?.!") + ending
    if not ending:  # "…what matters most to you" -> no terminal punctuation
        pair["target_response"] += " to you"
    problems = validate_reply(reply_for(conversation), plan_row)
    assert "ends_mid_sentence" in codes(problems)
    assert "$.training_pairs[1].target_response" in paths(problems)


def test_a_user_message_ending_mid_sentence_is_rejected(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    conversation["training_pairs"][0]["current_user_input"] += " and I was going to"
    problems = validate_reply(reply_for(conversation), plan_row)
    assert [(p.code, p.path) for p in problems] == [("ends_mid_sentence", "$.training_pairs[0].current_user_input")]


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param("\\", id="backslash"),
        pytest.param("\\u", id="u"),
        pytest.param("\\u00", id="u00"),
        pytest.param("\\u00e", id="u00e"),
        pytest.param("\\x", id="x"),
        pytest.param(chr(0xD83D), id="lone-surrogate"),
        pytest.param("\ufffd", id="replacement-char"),
    ],
)
def test_a_dangling_escape_is_rejected(conversation: dict[str, Any], plan_row: PlanRow, tail: str) -> None:
    pair = conversation["training_pairs"][-1]
    pair["target_response"] = pair["target_response"] + " Then " + tail
    pair["response_breakdown"]["sentences"][-1]["text"] += " Then " + tail
    problems = validate_reply(reply_for(conversation), plan_row)
    assert codes(problems) == ["dangling_escape"]
    assert problems[0].path == f"$.training_pairs[{len(conversation['training_pairs']) - 1}].target_response"


def test_the_fakes_dangling_escape_outcome_is_rejected(plan_row: PlanRow) -> None:
    data = faulty_conversation("dangling_escape", plan_row.conversation_id, plan_row.turn_count_target)
    assert "dangling_escape" in codes(validate_reply(reply_for(data), plan_row))


@pytest.mark.parametrize(
    "text",
    [
        "Does that feel right?",
        "Start there.",
        "That is progress!",
        'She called it "fun money."',
        "She called it “fun money”",
        "Write it down (just the total.)",
        "Take a breath…",
        "Let's pause here.  \n",
    ],
)
def test_finished_sentences_pass(text: str) -> None:
    assert not ends_mid_sentence(text)
    assert dangling_escape(text) is None


def test_a_literal_backslash_inside_the_text_is_fine() -> None:
    assert dangling_escape("Save it in C:\\budget\\2026 today.") is None


@pytest.mark.parametrize(
    ("target", "turns", "ok"), [(4, 4, True), (4, 3, True), (4, 5, True), (5, 3, False), (2, 4, False)]
)
def test_turn_count_allows_one_more_or_fewer(plan_row: PlanRow, target: int, turns: int, ok: bool) -> None:
    row = plan_row.model_copy(update={"turn_count_target": target})
    problems = validate_reply(reply_for(build_conversation(row.conversation_id, turns)), row)
    assert ("turn_count" not in codes(problems)) is ok


def test_an_unusual_reply_length_is_a_warning_not_a_failure(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    short, long = conversation["training_pairs"][0], conversation["training_pairs"][1]
    short_text = "I hear you. " * ((MIN_RESPONSE_WORDS - 1) // 3)
    long_text = "That is fine. " * (MAX_RESPONSE_WORDS // 3 + 1)
    for pair, text in ((short, short_text), (long, long_text)):
        pair["target_response"] = text.strip()
        pair["response_breakdown"]["sentences"] = pair["response_breakdown"]["sentences"][:1]
        pair["response_breakdown"]["sentences"][0]["text"] = "I hear you." if pair is short else "That is fine."
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert report.conversation is not None
    assert [(p.code, p.path) for p in report.warnings if p.code.startswith("response_too")] == [
        ("response_too_short", "$.training_pairs[0].target_response"),
        ("response_too_long", "$.training_pairs[1].target_response"),
    ]


def test_history_roles_must_alternate(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    history = conversation["training_pairs"][2]["conversation_history"]
    history[2]["role"] = "assistant"
    problems = validate_reply(reply_for(conversation), plan_row)
    assert [(p.code, p.path) for p in problems] == [
        ("history_roles", "$.training_pairs[2].conversation_history[2].role")
    ]
    assert "alternate" in problems[0].message


def test_history_needs_one_user_and_one_assistant_entry_per_earlier_turn(
    conversation: dict[str, Any], plan_row: PlanRow
) -> None:
    conversation["training_pairs"][1]["conversation_history"].pop()
    conversation["training_pairs"][0]["conversation_history"] = [{"turn": 1, "role": "user", "content": "Hi."}]
    problems = validate_reply(reply_for(conversation), plan_row)
    assert codes(problems) == ["history_length", "history_length"]
    assert "needs 2" in problems[1].message


def test_history_turn_numbers_must_match(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    conversation["training_pairs"][2]["conversation_history"][3]["turn"] = 1
    problems = validate_reply(reply_for(conversation), plan_row)
    assert [(p.code, p.path) for p in problems] == [
        ("history_turns", "$.training_pairs[2].conversation_history[3].turn")
    ]


def test_an_analysed_sentence_missing_from_the_reply_fails(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    sentences = conversation["training_pairs"][0]["response_breakdown"]["sentences"]
    sentences[2]["text"] = sentences[2]["text"].replace(" ", "  ", 3) + "\n"  # whitespace differences are fine
    assert validate_reply(reply_for(conversation), plan_row) == []

    sentences[3]["text"] = "A sentence the reply never says."
    problems = validate_reply(reply_for(conversation), plan_row)
    assert [(p.code, p.path) for p in problems] == [
        ("breakdown_not_in_reply", "$.training_pairs[0].response_breakdown.sentences[3].text")
    ]
    assert "'A sentence the reply never says.' is not in target_response" in problems[0].message


def test_a_breakdown_of_key_sentences_only_is_a_warning(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    breakdown = conversation["training_pairs"][1]["response_breakdown"]
    analysed = len(breakdown["sentences"])
    del breakdown["sentences"][1:3]  # the user's seeds analyse the key sentences, not every one
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert report.conversation is not None
    [warning] = report.warnings
    assert (warning.code, warning.path) == ("partial_breakdown", "$.training_pairs[1].response_breakdown.sentences")
    assert f"analyses {analysed - 2} of the reply's {analysed} sentences (not 2, 3)" in warning.message
    # total_sentences is what the reply has, computed, whatever the model declared
    assert report.conversation.training_pairs[1].response_breakdown.total_sentences == analysed


def test_wrong_ids_and_counts_are_fixed_locally_and_recorded(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    conversation["conversation_metadata"]["conversation_id"] = "other_001"
    conversation["conversation_metadata"]["total_turns"] = 9
    conversation["training_pairs"][1]["id"] = "whatever"
    conversation["training_pairs"][2]["conversation_id"] = "other_001"
    conversation["training_pairs"][2]["training_metadata"]["conversation_turn"] = 2
    conversation["training_pairs"][3]["response_breakdown"]["total_sentences"] = 99
    conversation["training_pairs"][0]["target_response"] += "  "
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert report.conversation is not None
    assert [(n.code, n.path, n.before) for n in report.normalisations] == [
        ("conversation_id", "$.conversation_metadata.conversation_id", "other_001"),
        ("total_turns", "$.conversation_metadata.total_turns", 9),
        ("whitespace", "$.training_pairs[0].target_response", conversation["training_pairs"][0]["target_response"]),
        ("pair_id", "$.training_pairs[1].id", "whatever"),
        ("conversation_id", "$.training_pairs[2].conversation_id", "other_001"),
        ("conversation_turn", "$.training_pairs[2].training_metadata.conversation_turn", 2),
        ("total_sentences", "$.training_pairs[3].response_breakdown.total_sentences", 99),
    ]
    pairs = report.conversation.training_pairs
    assert {pair.conversation_id for pair in pairs} == {plan_row.conversation_id}
    assert pairs[1].id == f"{plan_row.conversation_id}_turn2"
    assert report.conversation.conversation_metadata.total_turns == 4


def test_turn_numbers_off_by_one_are_renumbered(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    for index, pair in enumerate(conversation["training_pairs"]):
        pair["turn_number"] = index  # 0..n-1: in order, so unambiguous
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert [n.after for n in report.normalisations if n.code == "turn_number"] == [1, 2, 3, 4]


def test_scores_out_of_range_are_clamped_with_a_warning(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    metadata = conversation["training_pairs"][0]["training_metadata"]
    metadata["quality_score"] = 9
    metadata["quality_criteria"]["empathy_score"] = 0
    conversation["training_pairs"][1]["emotional_context"]["detected_emotions"]["intensity"] = 1.4
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert report.conversation is not None
    assert report.conversation.training_pairs[0].training_metadata.quality_score == 5
    assert report.conversation.training_pairs[0].training_metadata.quality_criteria["empathy_score"] == 1
    assert [(w.code, w.path) for w in report.warnings] == [
        ("score_clamped", "$.training_pairs[0].training_metadata.quality_score"),
        ("score_clamped", "$.training_pairs[0].training_metadata.quality_criteria.empathy_score"),
        ("score_clamped", "$.training_pairs[1].emotional_context.detected_emotions.intensity"),
    ]
    assert "was 9" in report.warnings[0].message
    assert [(n.before, n.after) for n in report.normalisations if n.clamped] == [(9, 5), (0, 1), (1.4, 1)]


def test_a_summarised_history_is_a_warning(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    pair = conversation["training_pairs"][2]
    pair["conversation_history"] = [{"turn": 1, "content": "She was anxious."}, {"turn": 2, "content": "Relief."}]
    report = check_reply(reply_for(conversation), plan_row)
    assert report.failures == []
    assert [(w.code, w.path) for w in report.warnings] == [
        ("history_summarised", "$.training_pairs[2].conversation_history")
    ]
    pair["conversation_history"] = [{"turn": 2, "content": "Relief."}]
    assert codes(validate_reply(reply_for(conversation), plan_row)) == ["history_turns"]


def test_turn_numbers_must_run_in_order(conversation: dict[str, Any], plan_row: PlanRow) -> None:
    conversation["training_pairs"][3]["turn_number"] = 3
    conversation["training_pairs"][3]["training_metadata"]["conversation_turn"] = 3
    problems = validate_reply(reply_for(conversation), plan_row)
    assert "turn_numbering" in codes(problems)
    assert "$.training_pairs[3].turn_number" in paths(problems)


def test_schema_errors_come_with_the_content_problems_of_the_valid_pairs(plan_row: PlanRow) -> None:
    data = faulty_conversation("invalid", plan_row.conversation_id, plan_row.turn_count_target)
    data["training_pairs"][1]["target_response"] += " and then"
    report = check_reply(reply_for(data), plan_row)
    assert report.conversation is None
    failures = [(p.code, p.path) for p in report.failures]
    assert ("schema:missing", "$.training_pairs[0].target_response") in failures
    assert ("ends_mid_sentence", "$.training_pairs[1].target_response") in failures
    # the fake's quality_score of 9 is clamped (a warning), not a failure
    assert "$.training_pairs[0].training_metadata.quality_score" not in paths(report.failures)
    assert ("score_clamped", "$.training_pairs[0].training_metadata.quality_score") in [
        (w.code, w.path) for w in report.warnings
    ]


def test_render_problems_is_short_and_bounded() -> None:
    problems = [Problem("x", f"$.a[{i}]", "is wrong") for i in range(30)]
    text = render_problems(problems, limit=3)
    assert text.splitlines() == [
        "- $.a[0]: is wrong",
        "- $.a[1]: is wrong",
        "- $.a[2]: is wrong",
        "- ... and 27 more problems of the same kinds",
    ]
    assert problems[0].as_dict() == {"code": "x", "path": "$.a[0]", "message": "is wrong"}
