"""Near-duplicate detection over (conversation id, text) pairs."""

from __future__ import annotations

import random

import pytest

from training_data_studio.bench.duplicates_bench import run_duplicates_bench, synthetic_conversations
from training_data_studio.quality.duplicates import find_near_duplicates, jaccard, shingles

BASE = (
    "I keep putting off the retirement account because every option feels like a trap.\n"
    "That hesitation makes sense when the choices look permanent, so let us slow it down and "
    "pick one small step you can undo if it feels wrong next month."
)


def test_shingles_are_lowercased_word_trigrams_without_punctuation() -> None:
    assert shingles("Don't PANIC, it's fine!") == {"dont panic its", "panic its fine"}
    assert shingles("Hi there\nOk") == {"hi there", "ok"}  # short lines are one shingle; lines never join
    assert shingles("  \n ... \n") == set()


def test_jaccard() -> None:
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert jaccard(set(), set()) == 0.0


def _distinct(count: int, seed: int = 5) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = [f"w{n}" for n in range(2000)]
    return [(f"conv_{n:03d}", " ".join(rng.choices(words, k=120))) for n in range(count)]


def _near_copy(text: str) -> str:
    words = text.split(" ")
    words[10] = "changed"  # one word in the first sentence
    return " ".join(words)


@pytest.mark.parametrize("exact_limit", [1_000, 0], ids=["exact", "lsh"])
def test_a_planted_near_copy_is_found_and_distinct_conversations_are_not(exact_limit: int) -> None:
    documents = [*_distinct(60), ("original_001", BASE), ("copy_001", _near_copy(BASE))]
    pairs = find_near_duplicates(documents, threshold=0.5, exact_limit=exact_limit)
    assert [(p.first_id, p.second_id) for p in pairs] == [("copy_001", "original_001")]
    [pair] = pairs
    assert pair.jaccard == pytest.approx(jaccard(shingles(BASE), shingles(_near_copy(BASE))))
    assert 0.5 <= pair.jaccard < 1
    assert pair.estimated_jaccard == pytest.approx(pair.jaccard, abs=0.2)


def test_threshold_decides() -> None:
    documents = [("a", BASE), ("b", _near_copy(BASE))]
    similarity = find_near_duplicates(documents, threshold=0.1)[0].jaccard
    assert find_near_duplicates(documents, threshold=min(1.0, similarity + 0.01)) == []


def test_identical_texts_score_one_and_empty_texts_are_ignored() -> None:
    pairs = find_near_duplicates([("a", BASE), ("b", BASE), ("c", ""), ("d", "...")])
    assert [(p.first_id, p.second_id, p.jaccard) for p in pairs] == [("a", "b", 1.0)]


def test_results_do_not_depend_on_input_order_for_the_exact_score() -> None:
    documents = [*_distinct(30), ("x", BASE), ("y", _near_copy(BASE))]
    forward = find_near_duplicates(documents)
    backward = find_near_duplicates(list(reversed(documents)))
    assert [(p.first_id, p.second_id, p.jaccard) for p in forward] == [
        (p.first_id, p.second_id, p.jaccard) for p in backward
    ]


@pytest.mark.parametrize(("threshold", "ids"), [(0.0, ["a", "b"]), (1.5, ["a", "b"]), (0.5, ["a", "a"])])
def test_bad_input_is_refused(threshold: float, ids: list[str]) -> None:
    with pytest.raises(ValueError, match=r"threshold|unique"):
        find_near_duplicates([(ids[0], BASE), (ids[1], BASE)], threshold=threshold)


def test_synthetic_bench_data_is_seeded() -> None:
    first, planted = synthetic_conversations(300, 3)
    second, _ = synthetic_conversations(300, 3)
    assert first == second
    assert len(first) == 300
    assert len(planted) == 3


def test_a_small_bench_finds_every_planted_copy_through_lsh() -> None:
    result = run_duplicates_bench(conversations=600, planted=5)
    assert result.found_planted == result.planted == 5
    assert result.pairs_reported == 5
