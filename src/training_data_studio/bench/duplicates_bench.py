"""`tds bench duplicates`: near-duplicate detection over 10,000 synthetic conversations.

Texts are made from an invented vocabulary with a seeded RNG (Zipf-like word frequencies, four turns of
a short client message and a longer reply each), so every run sees the same data and no real text is
needed. A number of near-copies are planted: a conversation copied with one word in twenty replaced.
The benchmark times :func:`find_near_duplicates` (shingling, MinHash, LSH and exact verification), reports
the peak resident memory of the process, and checks that every planted pair was found.
"""

from __future__ import annotations

import itertools
import os
import platform
import random
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..quality.duplicates import DEFAULT_THRESHOLD, find_near_duplicates

DOCS_FILE = Path(__file__).resolve().parents[3] / "docs" / "benchmarks.md"
TARGET_SECONDS = 30.0
DEFAULT_CONVERSATIONS = 10_000
DEFAULT_PLANTED = 20
# One word in twenty replaced leaves a copy at a word 3-gram Jaccard of roughly 0.75.
MUTATION_RATE = 0.05
_SYLLABLES = ("ba", "ko", "mi", "ren", "ta", "lu", "sor", "vey", "di", "nax", "po", "el", "qua", "ti", "mor", "sa")


@dataclass(frozen=True)
class DuplicatesBenchResult:
    conversations: int
    planted: int
    found_planted: int
    pairs_reported: int
    words_per_conversation: int
    seconds: float
    peak_rss_mb: float

    @property
    def met_target(self) -> bool:
        return self.seconds < TARGET_SECONDS and self.found_planted == self.planted

    def describe(self) -> str:
        return (
            f"{self.conversations:,} conversations in {self.seconds:.2f} s, peak RSS {self.peak_rss_mb:.0f} MB; "
            f"planted near-copies found {self.found_planted}/{self.planted}, pairs reported {self.pairs_reported}"
        )


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(size * 3)}
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered[:size]


def synthetic_conversations(
    count: int, planted: int, *, seed: int = 7
) -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    """``count`` conversations, the last ``planted`` of them near-copies of earlier ones (and which)."""
    rng = random.Random(seed)
    vocab = vocabulary(3000, rng)
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocab) + 1)))

    def sentence(length: int) -> str:
        return " ".join(rng.choices(vocab, cum_weights=weights, k=length)) + "."

    documents = []
    for number in range(count - planted):
        turns = []
        for _ in range(4):
            turns.append(sentence(rng.randint(25, 45)))
            turns.append(" ".join(sentence(rng.randint(12, 22)) for _ in range(6)))
        documents.append((f"bench_{number:05d}", "\n".join(turns)))
    pairs = set()
    for number, original in enumerate(rng.sample(range(len(documents)), planted)):
        source_id, text = documents[original]
        mutated = [
            (rng.choice(vocab) if rng.random() < MUTATION_RATE else word)
            for word in text.replace("\n", " \n ").split(" ")
        ]
        copy_id = f"bench_copy_{number:03d}"
        documents.append((copy_id, " ".join(mutated).replace(" \n ", "\n")))
        pairs.add((min(source_id, copy_id), max(source_id, copy_id)))
    return documents, pairs


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def run_duplicates_bench(
    conversations: int = DEFAULT_CONVERSATIONS, planted: int = DEFAULT_PLANTED, *, threshold: float = DEFAULT_THRESHOLD
) -> DuplicatesBenchResult:
    documents, planted_pairs = synthetic_conversations(conversations, planted)
    started = time.perf_counter()
    found = find_near_duplicates(documents, threshold=threshold)
    seconds = time.perf_counter() - started
    reported = {(p.first_id, p.second_id) for p in found}
    return DuplicatesBenchResult(
        conversations=len(documents),
        planted=len(planted_pairs),
        found_planted=len(planted_pairs & reported),
        pairs_reported=len(found),
        words_per_conversation=round(sum(len(text.split()) for _, text in documents) / len(documents)),
        seconds=seconds,
        peak_rss_mb=_peak_rss_mb(),
    )


def append_to_docs(result: DuplicatesBenchResult, path: Path = DOCS_FILE) -> Path:
    """Append a dated section with the machine and the figures (the file is created with a title)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Benchmarks\n", encoding="utf-8")
    now = datetime.now(UTC)
    section = f"""
## Near-duplicate detection, {now:%Y-%m-%d %H:%M} UTC

- Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}
- Workload: `tds bench duplicates`: {result.conversations:,} synthetic conversations (4 turns, about \
{result.words_per_conversation} words each,
  seeded RNG over an invented vocabulary), {result.planted} planted near-copies (1 word in 20 replaced); word \
3-gram shingles,
  MinHash (128 permutations) + LSH at threshold {DEFAULT_THRESHOLD}, exact Jaccard check of every candidate
- Result: **{result.seconds:.2f} s** for detection, peak RSS {result.peak_rss_mb:.0f} MB (whole process, data \
generation included);
  planted pairs found {result.found_planted}/{result.planted}; pairs reported {result.pairs_reported}
- Target: < {TARGET_SECONDS:.0f} s and every planted pair found: {"met" if result.met_target else "NOT met"}
"""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return path
