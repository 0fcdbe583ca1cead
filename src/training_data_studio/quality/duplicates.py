"""Near-duplicate conversations: pairs whose wording overlaps at or above a threshold.

A conversation's text is its user inputs and target responses. It is compared as a set of word 3-gram
shingles (lowercased, punctuation stripped, never spanning two lines, so never two messages); a line of
one or two words is one shingle. Similarity is the Jaccard index of two shingle sets.

Small collections are compared exactly, every pair. Larger ones use MinHash signatures (128 permutations)
and LSH banding (datasketch) to find candidate pairs in near-linear time; every candidate's exact Jaccard
is then computed from the shingle sets, so a reported pair is always truly at or above the threshold.
LSH can miss a pair whose similarity sits just above the threshold (the chance falls quickly as the
similarity rises); the banding is tuned to favour recall (false-negative weight 0.7).

Internally a shingle is an integer (three 21-bit word ids) and a conversation a sorted numpy array of
them: the same sets as :func:`shingles`, in a fraction of the memory. Word ids are given in order of
first appearance, so MinHash estimates (never the exact Jaccard) depend on the input order; the service
reads conversations in a fixed order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH
from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from ..models import TrainingConversation, TrainingTurn

SHINGLE_WORDS = 3
DEFAULT_THRESHOLD = 0.5
NUM_PERM = 128
# Up to this many conversations every pair is compared exactly (about 20k pairs): fast and exact.
EXACT_LIMIT = 200
# LSH banding weights (false positive, false negative): candidates are verified exactly, so a false
# positive only costs one set comparison while a false negative is a missed duplicate.
LSH_WEIGHTS = (0.3, 0.7)
# MinHash permutations depend on this seed; a fixed one keeps estimates identical from run to run.
MINHASH_SEED = 1

_NOT_WORD = re.compile(r"[^\w\s]+")
_MAX_WORD_ID = 1 << 21
Shingles = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    first_id: str
    second_id: str
    jaccard: float
    estimated_jaccard: float


def words(text: str) -> list[str]:
    return _NOT_WORD.sub("", text.lower()).split()


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Word ``size``-grams of each line of ``text``; a line shorter than ``size`` words is one shingle."""
    found: set[str] = set()
    for line in text.splitlines():
        tokens = words(line)
        if len(tokens) < size:
            if tokens:
                found.add(" ".join(tokens))
            continue
        found.update(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
    return found


def jaccard(first: set[Any], second: set[Any]) -> float:
    if not first and not second:
        return 0.0
    return len(first & second) / len(first | second)


class _ShingleEncoder:
    """Word 3-gram shingles as integers: each distinct word gets a 21-bit id, a shingle packs three ids.

    Equal to :func:`shingles` one for one (a short line packs its one or two ids with a length tag), but
    an int set takes a fraction of the memory of a string set and compares faster.
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def _id(self, word: str) -> int:
        ident = self.ids.get(word)
        if ident is None:
            ident = len(self.ids) + 1  # 0 is never an id, so short lines cannot collide with full shingles
            if ident >= _MAX_WORD_ID:
                raise ValueError(f"more than {_MAX_WORD_ID - 1:,} distinct words: compare smaller batches")
            self.ids[word] = ident
        return ident

    def encode(self, text: str) -> set[int]:
        found: set[int] = set()
        for line in text.splitlines():
            ids = [self._id(word) for word in words(line)]
            if len(ids) >= SHINGLE_WORDS:
                found.update((a << 42) | (b << 21) | c for a, b, c in zip(ids, ids[1:], ids[2:], strict=False))
            elif len(ids) == 2:
                found.add((ids[0] << 21) | ids[1])
            elif ids:
                found.add(ids[0])
        return found


# Fibonacci hashing spreads the packed ids over 32 bits for MinHash (the multiplier is 2^64 / golden ratio).
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)


def _as_array(keys: set[int]) -> Shingles:
    return np.fromiter(sorted(keys), dtype=np.uint64, count=len(keys))


def _exact_jaccard(first: Shingles, second: Shingles) -> float:
    common = np.intersect1d(first, second, assume_unique=True).size
    return common / (first.size + second.size - common)


def _signature(keys: Shingles) -> MinHash:
    hashed = (keys * _FIBONACCI) >> np.uint64(32)  # uint64 multiplication wraps modulo 2^64, as intended
    signature = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=int)
    signature.update_batch(hashed.tolist())
    return signature


def find_near_duplicates(
    documents: Sequence[tuple[str, str]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    exact_limit: int = EXACT_LIMIT,
) -> list[DuplicatePair]:
    """Pairs of ``(conversation_id, text)`` documents with Jaccard >= ``threshold``, most similar first."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be within (0, 1]")
    ids = [ident for ident, _ in documents]
    if len(set(ids)) != len(ids):
        raise ValueError("conversation ids must be unique")
    encoder = _ShingleEncoder()
    sets = [_as_array(encoder.encode(text)) for _, text in documents]
    keep = [i for i, items in enumerate(sets) if items.size]  # an empty text is nobody's duplicate
    signatures = {i: _signature(sets[i]) for i in keep}

    if len(keep) <= exact_limit:
        candidates = set(combinations(keep, 2))
    else:
        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=LSH_WEIGHTS)
        for i in keep:
            lsh.insert(i, signatures[i])
        candidates = set()
        for i in keep:
            candidates.update((min(i, j), max(i, j)) for j in lsh.query(signatures[i]) if j != i)

    pairs = []
    for i, j in candidates:
        exact = _exact_jaccard(sets[i], sets[j])
        if exact >= threshold:
            first, second = sorted((ids[i], ids[j]))
            pairs.append(DuplicatePair(first, second, exact, float(signatures[i].jaccard(signatures[j]))))
    return sorted(pairs, key=lambda p: (-p.jaccard, p.first_id, p.second_id))


def conversation_texts(*, session: Session, statuses: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(conversation_id, text)`` of every conversation with turns: inputs and responses, one per line."""
    text = func.string_agg(
        func.concat_ws("\n", TrainingTurn.user_input, TrainingTurn.target_response),
        aggregate_order_by(literal("\n"), TrainingTurn.turn_number),
    )
    stmt = (
        select(TrainingConversation.conversation_id, text)
        .join(TrainingTurn, TrainingTurn.conversation_id == TrainingConversation.id)
        .group_by(TrainingConversation.conversation_id)
        .order_by(TrainingConversation.conversation_id)
    )
    if statuses:
        stmt = stmt.where(TrainingConversation.generation_status.in_(statuses))
    return [(ident, body) for ident, body in session.execute(stmt)]


def duplicate_report(
    *, session: Session, threshold: float = DEFAULT_THRESHOLD, statuses: Sequence[str] | None = None
) -> tuple[int, list[DuplicatePair]]:
    """How many conversations were compared, and the near-duplicate pairs among them."""
    documents = conversation_texts(session=session, statuses=statuses)
    return len(documents), find_near_duplicates(documents, threshold=threshold)
