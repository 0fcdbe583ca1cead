"""The text each check reads is computed once per turn and shared (quality/checks/base.py ``TurnView``): every
shared view must equal what a check would compute from the reply itself, so sharing changes no result."""

from __future__ import annotations

import random
import re

import pytest

from tests.unit.quality.builders import SAMPLE_NAMES, sample_pairs, validated
from training_data_studio.conversations.document import TrainingPair
from training_data_studio.quality.checks import ALL_CHECKS, run_checks
from training_data_studio.quality.checks.base import ConversationView
from training_data_studio.quality.checks.text import (
    ABBREVIATIONS,
    FEELING,
    FINANCIAL,
    PERMISSION,
    glossary_terms,
    normalise_spaces,
    split_sentences,
    word_count,
)

_BOUNDARY = re.compile(r"[.!?\n](?:(?<=\n)|[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9$£€]))")


def _reference_split(text: str) -> list[tuple[int, int, int, str]]:
    """The sentence rule written plainly (one helper call per boundary), as it was before it was tuned."""
    sentences: list[tuple[int, int, int, str]] = []

    def append(begin: int, finish: int) -> None:
        raw = text[begin:finish]
        stripped = raw.strip()
        if stripped:
            offset = begin + len(raw) - len(raw.lstrip())
            sentences.append((len(sentences) + 1, offset, offset + len(stripped), stripped))

    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if text[match.start()] == ".":
            word_start = max(text.rfind(" ", start, match.start()), text.rfind("\n", start, match.start())) + 1
            if text[word_start:end].lower() in ABBREVIATIONS:
                continue
        append(start, end)
        start = end
    append(start, len(text))
    return sentences


def _replies() -> list[str]:
    replies = [pair.target_response for name in SAMPLE_NAMES for pair in validated(sample_pairs(name))]
    rng = random.Random(20261125)
    pieces = [*". .\n\n!?\"”’')]([“‘A9$£€ \t", "Dr. ", "e.g. ", "approx. ", "U.S. ", "No. 5", ".\n", "İ", "Σ"]
    noise = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    edited = []
    for reply in replies:
        for _ in range(40):
            at = rng.randint(0, len(reply))
            edited.append(reply[:at] + rng.choice(pieces) + reply[at:])
    return replies + [r.replace("\n", " ") for r in replies] + noise + edited


def test_sentences_are_split_exactly_as_the_plain_rule_says() -> None:
    for text in _replies():
        assert [(s.number, s.start, s.end, s.text) for s in split_sentences(text)] == _reference_split(text), text


def _turns_with_edits() -> list[TrainingPair]:
    pairs = []
    for name in SAMPLE_NAMES:
        for pair in sample_pairs(name):
            for edit in (
                lambda t: t,
                lambda t: t.replace(". ", ".\n\n", 2),
                lambda t: t.replace(" ", "  ", 3),
                lambda t: "  " + t.upper() + "\n",
                lambda t: t.replace("a", "İ", 2),
            ):
                edited = {**pair, "target_response": edit(pair["target_response"])}
                pairs.extend(validated([edited]))
    return pairs


@pytest.mark.parametrize("pair", _turns_with_edits())
def test_every_shared_view_equals_its_direct_computation(pair: TrainingPair) -> None:
    (turn,) = ConversationView([pair]).turns
    reply = pair.target_response
    normalised = normalise_spaces(reply)
    assert turn.lower == reply.lower()
    assert turn.words == word_count(reply) == len(reply.split())
    assert turn.sentence_lowers == [s.text.lower() for s in split_sentences(reply)]
    assert turn.sentence_words == [len(s.text.split()) for s in split_sentences(reply)]
    assert turn.analysed_text == normalised
    assert turn.analysed_sentences == split_sentences(normalised)
    assert glossary_terms(reply, turn.lower) == glossary_terms(reply)
    for lexicon in (FEELING, FINANCIAL, PERMISSION):
        for sentence, lower in zip(turn.sentences, turn.sentence_lowers, strict=True):
            with_lower, without = lexicon.search(sentence.text, lower), lexicon.search(sentence.text)
            assert (with_lower and with_lower.span()) == (without and without.span())


def test_checks_give_the_same_results_on_a_fresh_view_and_a_shared_one() -> None:
    pairs = validated(sample_pairs("marcus"))
    view = ConversationView(pairs, "tier1_template")
    for turn in view.turns:  # every view computed up front, then read by every check
        _ = (turn.sentences, turn.lower, turn.words, turn.sentence_words, turn.analysed_sentences, turn.lesson_offset)
    assert [check(view) for check in ALL_CHECKS] == run_checks(pairs, tier="tier1_template")
