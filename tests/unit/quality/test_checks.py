"""The deterministic quality checks: every one passes on our samples and fails on a conversation built to
break it, with an issue that says where (turn, sentence) and what to do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.quality.builders import (
    SAMPLE_NAMES,
    replace_sentence,
    reply_sentences,
    sample_pairs,
    set_reply,
    validated,
)
from training_data_studio.quality.checks import ALL_CHECKS, CheckResult, evaluate, is_ready_for_training, run_checks
from training_data_studio.quality.checks.text import glossary_terms, split_sentences

TIER1 = "tier1_template"


def _result(pairs: list[dict[str, Any]], key: str, *, tier: str | None = TIER1) -> CheckResult:
    results = {result.key: result for result in run_checks(validated(pairs), tier=tier)}
    return results[key]


def _failed(pairs: list[dict[str, Any]], key: str, *, tier: str | None = TIER1) -> CheckResult:
    result = _result(pairs, key, tier=tier)
    assert result.passed is False, f"{key} should fail"
    assert result.issues, f"{key} failed without an issue"
    return result


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_check_passes_on_our_samples(name: str) -> None:
    evaluation = evaluate(validated(sample_pairs(name)), tier=TIER1, status="approved", is_seed=True)
    failed = {check.key: [issue.message for issue in check.issues] for check in evaluation.checks if not check.passed}
    assert failed == {}
    assert evaluation.computed_score == Decimal("1.000")
    assert evaluation.complete
    assert evaluation.ready_for_training
    assert evaluation.issues == []


def test_there_are_fifteen_checks_in_three_groups() -> None:
    assert len(ALL_CHECKS) == 15
    assert [check.group.value for check in ALL_CHECKS].count("completeness") == 6
    assert {check.group.value for check in ALL_CHECKS} == {"completeness", "counts", "voice"}
    assert len({check.key for check in ALL_CHECKS}) == 15


# --------------------------------------------------------------------------------------------------
# Completeness
# --------------------------------------------------------------------------------------------------


def test_missing_emotional_indicators_name_the_turn() -> None:
    pairs = sample_pairs()
    pairs[1]["emotional_context"]["emotional_indicators"] = {}
    result = _failed(pairs, "emotional_context_complete")
    (issue,) = result.issues
    assert issue.message == "Missing emotional indicators on turn 2"
    assert issue.action.startswith("Review turn 2")
    assert issue.turn == 2


def test_missing_client_needs_and_assessment_are_both_named() -> None:
    pairs = sample_pairs()
    pairs[0]["emotional_context"]["client_needs_hierarchy"] = []
    pairs[0]["emotional_context"]["behavioral_assessment"] = {}
    (issue,) = _failed(pairs, "emotional_context_complete").issues
    assert issue.message == "Missing behavioural assessment and client needs on turn 1"


def test_progression_must_be_tracked_from_turn_two() -> None:
    pairs = sample_pairs()
    del pairs[2]["emotional_context"]["emotional_progression"]
    (issue,) = _failed(pairs, "emotional_progression_tracked").issues
    assert issue.turn == 3
    assert "turn 3" in issue.message
    first_only = sample_pairs()
    first_only[0]["emotional_context"].pop("emotional_progression", None)
    assert _result(first_only, "emotional_progression_tracked").passed


def test_strategy_needs_a_rationale() -> None:
    pairs = sample_pairs()
    pairs[0]["response_strategy"]["primary_rationale"] = "  "
    (issue,) = _failed(pairs, "primary_strategy_with_rationale").issues
    assert issue.message == "Missing strategy rationale on turn 1"


def test_an_unanalysed_sentence_is_named() -> None:
    pairs = sample_pairs()
    breakdown = pairs[1]["response_breakdown"]
    missing = breakdown["sentences"].pop(3)
    for number, sentence in enumerate(breakdown["sentences"], start=1):
        sentence["sentence_number"] = number
    (issue,) = _failed(pairs, "all_sentences_analysed").issues
    assert issue.message.startswith("Incomplete sentence analysis: sentence 4 of turn 2 is not analysed")
    assert missing["text"][:20] in issue.message
    assert issue.action == "Analyze sentences: add sentence 4 of turn 2 to its breakdown"
    assert (issue.turn, issue.sentence) == (2, 4)


def test_an_analysed_sentence_missing_from_the_reply_is_named() -> None:
    pairs = sample_pairs()
    pairs[0]["response_breakdown"]["sentences"][1]["text"] = "A sentence the reply never says."
    messages = [issue.message for issue in _failed(pairs, "all_sentences_analysed").issues]
    assert any(message.startswith("Analysed sentence 2 of turn 1 is not in the reply") for message in messages)
    assert any("sentence 2 of turn 1 is not analysed" in message for message in messages)


def test_whitespace_differences_do_not_count_as_gaps() -> None:
    pairs = sample_pairs()
    pairs[0]["target_response"] = pairs[0]["target_response"].replace(". ", ".\n\n", 2)
    assert _result(pairs, "all_sentences_analysed").passed


def test_word_choice_rationales_must_be_three_to_six() -> None:
    pairs = sample_pairs()
    pairs[0]["response_breakdown"]["sentences"][1]["word_choice_rationale"] = {"only": "one"}
    pairs[2]["response_breakdown"]["sentences"][0]["word_choice_rationale"] = {f"w{i}": "x" for i in range(7)}
    issues = _failed(pairs, "word_choice_rationales").issues
    assert [(i.turn, i.sentence) for i in issues] == [(1, 2), (3, 1)]
    assert issues[0].message == "Sentence 2 of turn 1 explains 1 word choices (3–6 expected)"
    assert issues[0].action.startswith("Add word-choice rationales")
    assert issues[1].action.startswith("Keep the strongest")


# --------------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------------


def test_turn_count_follows_the_tier() -> None:
    david = sample_pairs("david")  # 3 turns: fine for Tier 1, too few for Tier 2 (4-6)
    assert _result(david, "turn_count").passed
    (issue,) = _failed(david, "turn_count", tier="tier2_scenario").issues
    assert issue.message == "3 turns; tier2_scenario conversations have 4–6"
    assert _result(david, "turn_count", tier=None).passed is None


def test_too_few_sentences_in_a_reply() -> None:
    pairs = sample_pairs()
    set_reply(pairs[1], ["I can hear how hard this is.", "How are you feeling about it?"])
    (issue,) = _failed(pairs, "sentences_per_reply").issues
    assert issue.message == "Turn 2's reply has 2 sentences (3–12 expected)"


def test_a_reply_too_short_in_words() -> None:
    pairs = sample_pairs()
    set_reply(pairs[2], ["I can hear the guilt here.", "That is understandable.", "How does that feel?"])
    (issue,) = _failed(pairs, "words_per_reply").issues
    assert issue.turn == 3
    assert "Develop" in issue.action


def test_a_run_on_sentence() -> None:
    pairs = sample_pairs()
    long_sentence = "I hear you and " + " ".join(["this part of the plan keeps going"] * 10) + "."
    replace_sentence(pairs[0], 3, long_sentence)
    issues = _failed(pairs, "words_per_sentence").issues
    assert any(issue.sentence == 3 and "Split sentence 3 of turn 1" in issue.action for issue in issues)


# --------------------------------------------------------------------------------------------------
# Voice
# --------------------------------------------------------------------------------------------------


def test_facts_before_feelings_fails() -> None:
    pairs = sample_pairs()
    replace_sentence(pairs[1], 1, "Your $14,000 balance costs you $276 a month, and I can hear how scared you are.")
    (issue,) = _failed(pairs, "feelings_before_facts").issues
    assert issue.message.startswith("Turn 2 puts facts before feelings")
    assert (issue.turn, issue.sentence) == (2, 1)


def test_an_opening_without_any_feeling_fails() -> None:
    pairs = sample_pairs()
    replace_sentence(pairs[0], 1, "Here is where your two credit cards stand today.")
    (issue,) = _failed(pairs, "feelings_before_facts").issues
    assert issue.message.startswith("Turn 1 opens without naming a feeling")


def test_a_reply_must_end_with_a_check_in() -> None:
    pairs = sample_pairs()
    replace_sentence(pairs[3], len(reply_sentences(pairs[3])), "Talk soon, and keep going.")
    (issue,) = _failed(pairs, "ends_with_check_in").issues
    assert issue.message.startswith("Turn 4 does not end with a check-in")
    ended_softly = sample_pairs()
    replace_sentence(ended_softly[3], len(reply_sentences(ended_softly[3])), "Let me know how that lands.")
    assert _result(ended_softly, "ends_with_check_in").passed


def test_unexplained_jargon_is_named_once() -> None:
    pairs = sample_pairs()
    replace_sentence(pairs[2], 4, "Watch the expense ratio of any fund you pick for the payoff.")
    replace_sentence(pairs[3], 5, "The expense ratio matters again here.")
    (issue,) = _failed(pairs, "jargon_explained").issues
    assert issue.message == "“expense ratio” in sentence 4 of turn 3 is not explained"
    assert (issue.turn, issue.sentence) == (3, 4)
    assert "“expense ratio” in plain words" in issue.action


@pytest.mark.parametrize(
    ("sentence", "following"),
    [
        ("Watch the expense ratio (the yearly fee a fund charges) of any fund.", "That keeps costs visible."),
        ("Watch the expense ratio, which means the yearly fee a fund charges.", "That keeps costs visible."),
        ("Watch the expense ratio — the yearly fee a fund charges.", "That keeps costs visible."),
        ("Watch the expense ratio of any fund you pick.", "This is the yearly fee the fund charges."),
        ("Watch the yearly fee a fund charges, called the expense ratio.", "That keeps costs visible."),
        ("Watch the **expense ratio** (the yearly fee a fund charges).", "That keeps costs visible."),
        ("Watch the expense ratio of any fund.", "The **expense ratio** (its yearly fee) is what you pay to hold it."),
        ("Your RSUs (restricted stock units) vest soon.", "That keeps the plan simple."),
    ],
)
def test_jargon_explained_in_the_same_or_next_sentence_passes(sentence: str, following: str) -> None:
    pairs = sample_pairs()
    replace_sentence(pairs[2], 4, sentence)
    replace_sentence(pairs[2], 5, following)
    assert _result(pairs, "jargon_explained").passed


def test_the_next_sentence_explaining_another_term_does_not_count() -> None:
    pairs = sample_pairs()
    replace_sentence(pairs[2], 4, "Watch the expense ratio of any fund you pick.")
    replace_sentence(pairs[2], 5, "A balance transfer means moving the debt to a new card.")
    (issue,) = _failed(pairs, "jargon_explained").issues
    assert issue.message == "“expense ratio” in sentence 4 of turn 3 is not explained"


def test_glossary_terms_are_whole_words_and_acronyms_match_case() -> None:
    assert [label for label, _, _ in glossary_terms("Your RSUs and the apr, not the APR.")] == ["RSU", "APR"]
    assert glossary_terms("Multi-bps and xwithholding are not terms.") == []
    found = glossary_terms("An RMD, then asset allocation.")
    assert [(label, start) for label, start, _ in found] == [("RMD", 3), ("asset allocation", 13)]


def _without_figures(pairs: list[dict[str, Any]]) -> None:
    for pair in pairs:
        sentences = ["".join(ch for ch in text if not ch.isdigit()) for text in reply_sentences(pair)]
        set_reply(pair, sentences)


def test_a_money_conversation_without_any_figure_fails() -> None:
    pairs = sample_pairs()
    _without_figures(pairs)
    (issue,) = _failed(pairs, "concrete_numbers").issues
    assert issue.message == "No concrete numbers in any reply of a money conversation"
    assert _result(pairs, "concrete_numbers", tier="tier3_edge").passed is None


def test_a_teaching_turn_without_a_figure_fails() -> None:
    pairs = sample_pairs()
    sentences = ["".join(ch for ch in text if not ch.isdigit()) for text in reply_sentences(pairs[1])]
    set_reply(pairs[1], sentences)
    (issue,) = _failed(pairs, "concrete_numbers").issues
    assert issue.message == "Turn 2 teaches without a concrete number"


def test_teaching_before_asking_permission_fails() -> None:
    pairs = sample_pairs()
    set_reply(
        pairs[0],
        [
            "Jennifer, I can hear how much shame you carry, and it took courage to write this.",
            "Interest is the fee a card company charges for carrying a balance, about $276 a month for you.",
            "Paying a little more each month shortens the time a great deal.",
            "How does it feel to see it laid out like this?",
        ],
    )
    (issue,) = _failed(pairs, "permission_before_teaching").issues
    assert (issue.turn, issue.sentence) == (1, 2)
    assert issue.message.startswith("Turn 1 starts teaching without asking permission")
    assert "Would it be okay" in issue.action


def test_permission_asked_first_or_at_the_end_of_the_previous_turn_passes() -> None:
    asked_first = sample_pairs()
    set_reply(
        asked_first[0],
        [
            "Jennifer, I can hear how much shame you carry.",
            "Would it be okay if I explained one thing first?",
            "Interest is the fee a card company charges for carrying a balance.",
            "How does that sit with you?",
        ],
    )
    assert _result(asked_first, "permission_before_teaching").passed
    # Turn 2 of the sample opens its lesson after turn 1 closed with "would it be okay if we looked at ...?"
    carried = sample_pairs()
    replace_sentence(carried[1], 3, "You asked whether you are digging deeper, so here is how those payments work.")
    assert _result(carried, "permission_before_teaching").passed
    no_offer = sample_pairs()
    replace_sentence(no_offer[0], 7, "What feels hardest about this right now?")
    replace_sentence(no_offer[1], 3, "You asked whether you are digging deeper, so here is how those payments work.")
    (issue,) = _failed(no_offer, "permission_before_teaching").issues
    assert issue.turn == 2
    assert "or offer it at the end of turn 1" in issue.action


def test_permission_is_not_applicable_when_nothing_is_taught() -> None:
    pairs = sample_pairs()
    for pair in pairs:
        set_reply(pair, ["I can hear the worry in this.", "You are not alone in it.", "How are you feeling now?"])
    assert _result(pairs, "permission_before_teaching").passed is None


# --------------------------------------------------------------------------------------------------
# What a quality_metrics row holds
# --------------------------------------------------------------------------------------------------


def test_computed_score_is_the_share_of_applicable_checks_passed() -> None:
    pairs = sample_pairs()
    pairs[1]["emotional_context"]["emotional_indicators"] = {}
    replace_sentence(pairs[3], len(reply_sentences(pairs[3])), "Talk soon.")
    evaluation = evaluate(validated(pairs), tier="tier3_edge", status="generated", is_seed=False)
    assert evaluation.applicable == 14  # concrete numbers does not apply to Tier 3
    assert evaluation.passed == 12
    assert evaluation.computed_score == Decimal("0.857")
    row = evaluation.as_row()
    assert row["computed_score"] == Decimal("0.857")
    assert row["all_required_fields_complete"] is False
    assert row["ready_for_training"] is False
    assert row["needs_review"] is True
    assert [c["key"] for c in row["checks"]] == [check.key for check in ALL_CHECKS]
    concrete = next(c for c in row["checks"] if c["key"] == "concrete_numbers")
    assert concrete["passed"] is None
    assert "Tier 3" in concrete["note"]
    assert {i["check"] for i in row["issues"]} == {"emotional_context_complete", "ends_with_check_in"}
    assert row["total_turns"] == 4
    assert row["total_word_count"] > 0


def test_low_self_reported_scores_become_warnings_with_guidance() -> None:
    pairs = sample_pairs()
    for pair in pairs:
        pair["training_metadata"]["quality_criteria"]["brand_voice_alignment"] = 3.5
    evaluation = evaluate(validated(pairs), tier=TIER1, status="approved", is_seed=False)
    warnings = [i for i in evaluation.issues if i.severity.value == "warning"]
    assert [(w.message, w.action) for w in warnings] == [
        ("Low brand voice score (3.5/5.0)", "Review Elena consistency")
    ]
    assert evaluation.computed_score == Decimal("1.000")  # a self-reported score is no check


@pytest.mark.parametrize(
    ("complete", "status", "seed", "ready"),
    [
        (True, "approved", False, True),
        (True, "generated", False, False),
        (True, "generated", True, True),
        (True, "flagged", True, False),
        (False, "approved", True, False),
    ],
)
def test_ready_for_training(complete: bool, status: str, seed: bool, ready: bool) -> None:
    assert is_ready_for_training(complete=complete, status=status, is_seed=seed) is ready


def test_sentences_keep_their_offsets_and_skip_abbreviations() -> None:
    text = "I hear you, e.g. the worry.  Dr. Lee agrees!\nA list item\n“Quoted.” Then $40 more?"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "I hear you, e.g. the worry.",
        "Dr. Lee agrees!",
        "A list item",
        "“Quoted.”",
        "Then $40 more?",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)
    assert [s.number for s in sentences] == [1, 2, 3, 4, 5]
