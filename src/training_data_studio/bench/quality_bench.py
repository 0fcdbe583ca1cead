"""`tds bench quality`: quality metrics and checks for 10,000 conversations, and near-duplicates for 10,000.

Conversations are our sample seeds (data/samples) cloned in memory and varied with a seeded RNG, so every
run sees the same data and no real text is needed: every figure is rescaled and the client renamed (in the
reply and in its breakdown alike), one in three loses its last turn, and one in five is broken on purpose
(an unanalysed sentence, a missing check-in, thin word-choice rationales, no client needs, or a lesson
without permission) so that failing checks cost what they cost in real data.

Phases:

1. **Metrics in memory** (the target): :func:`..quality.checks.evaluate` and the row it stores
   (``as_row``) for every conversation, as ``save_conversation`` does on import and generation.
2. **Recompute over the database** (for information): the same conversations loaded into a fresh
   database (one ``training_turns.source_json`` per turn), then :func:`..quality.service.recompute_all`
   reads, validates, checks and upserts them all; skipped with ``--db-conversations 0``.
3. **Near-duplicates**: :func:`.duplicates_bench.run_duplicates_bench` (10,000 synthetic conversations).

Memory is the process's peak resident set size after each phase (it only grows), as the duplicates
benchmark reports it.
"""

from __future__ import annotations

import json
import random
import re
import resource
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conversations.document import ResponseBreakdown, TrainingPair
from ..conversations.store import bulk_insert, table_of
from ..core.config import Settings
from ..core.db import Database
from ..core.migrate import migrate
from ..models import TrainingConversation, TrainingTurn
from ..quality.checks import evaluate
from ..quality.service import recompute_all
from .common import DOCS_FILE, append_section, fresh_database, machine_line, server_version
from .duplicates_bench import TARGET_SECONDS as DUPLICATES_TARGET_SECONDS
from .duplicates_bench import DuplicatesBenchResult, run_duplicates_bench

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "data" / "samples"
TARGET_METRICS_SECONDS = 10.0
DEFAULT_CONVERSATIONS = 10_000
SEED = 11
NAMES = ("Avery", "Jordan", "Priya", "Mateo", "Keiko", "Samir", "Lena", "Tomasz", "Amara", "Diego")
BREAKAGES = ("unanalysed_sentence", "no_check_in", "thin_rationales", "no_client_needs", "lesson_first")
_FIGURE = re.compile(r"\d[\d,]*")
# Conversations written to the database per INSERT round trip while loading.
LOAD_BATCH = 250


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def sample_conversations() -> list[list[TrainingPair]]:
    """Our sample seeds, validated once."""
    return [
        [TrainingPair.model_validate(pair) for pair in json.loads(path.read_text(encoding="utf-8"))["training_pairs"]]
        for path in sorted(SAMPLES_DIR.glob("*.json"))
    ]


def _rescale(factor: float) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        digits = match.group().replace(",", "")
        if len(digits) < 3:  # small counts (2 cards, 30 years) stay as they are
            return match.group()
        value = max(1, round(int(digits) * factor))
        return f"{value:,}" if "," in match.group() else str(value)

    return replace


def _vary_text(text: str, rescale: Callable[[re.Match[str]], str], name: str, original: str) -> str:
    return _FIGURE.sub(rescale, text).replace(original, name)


Rescale = Callable[[re.Match[str]], str]


def _breakdown(pair: TrainingPair) -> ResponseBreakdown:
    # The bench varies the fully annotated files 01-09: every pair has its sentence analysis.
    if pair.response_breakdown is None:
        raise ValueError(f"pair {pair.id} has no response_breakdown to vary")
    return pair.response_breakdown


def _with_sentences(pair: TrainingPair, sentences: list[Any], **update: Any) -> TrainingPair:
    breakdown = _breakdown(pair).model_copy(update={"sentences": sentences})
    return pair.model_copy(update={"response_breakdown": breakdown, **update})


def _vary_pair(pair: TrainingPair, conversation_id: str, rescale: Rescale, name: str) -> TrainingPair:
    persona = pair.conversation_metadata.client_persona if pair.conversation_metadata else None
    original = (persona or name).split()[0].rstrip(",")
    breakdown = _breakdown(pair)
    sentences = [
        s.model_copy(update={"text": _vary_text(s.text, rescale, name, original)}) for s in breakdown.sentences
    ]
    return _with_sentences(
        pair,
        sentences,
        id=f"{conversation_id}_turn{pair.turn_number}",
        conversation_id=conversation_id,
        target_response=_vary_text(pair.reply, rescale, name, original),
        current_user_input=_vary_text(pair.current_user_input, rescale, name, original),
    )


def _break(pairs: list[TrainingPair], how: str, rng: random.Random) -> None:
    """Spoil one conversation in place, in one of the ways real data goes wrong."""
    index = rng.randrange(len(pairs))
    pair = pairs[index]
    breakdown = _breakdown(pair)
    if how == "unanalysed_sentence" and len(breakdown.sentences) > 1:
        pairs[index] = _with_sentences(pair, breakdown.sentences[:-1])
    elif how == "no_check_in":
        last = breakdown.sentences[-1]
        text = last.text.rstrip("?") + "."
        response = pair.reply[: len(pair.reply) - len(last.text)] + text
        sentences = [*breakdown.sentences[:-1], last.model_copy(update={"text": text})]
        pairs[index] = _with_sentences(pair, sentences, target_response=response)
    elif how == "thin_rationales":
        first = breakdown.sentences[0]
        thin = dict(list(first.word_choice_rationale.items())[:1])
        sentences = [first.model_copy(update={"word_choice_rationale": thin}), *breakdown.sentences[1:]]
        pairs[index] = _with_sentences(pair, sentences)
    elif how == "no_client_needs":
        assert pair.emotional_context is not None
        context = pair.emotional_context.model_copy(update={"client_needs_hierarchy": []})
        pairs[index] = pair.model_copy(update={"emotional_context": context})
    else:  # lesson_first: the reply opens by teaching, with no permission anywhere before it
        lesson = "Compound interest is the interest you earn on earlier interest."
        sentences = [
            breakdown.sentences[0].model_copy(update={"text": lesson, "sentence_number": 1}),
            *(s.model_copy(update={"sentence_number": s.sentence_number + 1}) for s in breakdown.sentences),
        ]
        pairs[index] = _with_sentences(pair, sentences, target_response=f"{lesson} {pair.reply}")


@dataclass(frozen=True)
class SyntheticConversation:
    conversation_id: str
    number: int
    tier: str
    pairs: list[TrainingPair]


def synthetic_conversations(count: int, *, seed: int = SEED) -> list[SyntheticConversation]:
    """``count`` conversations cloned from the samples and varied (see the module docstring)."""
    rng = random.Random(seed)
    samples = sample_conversations()
    conversations = []
    for number in range(1, count + 1):
        conversation_id = f"bench_quality_{number:05d}"
        rescale = _rescale(rng.uniform(0.5, 2.0))
        name = rng.choice(NAMES)
        source = samples[number % len(samples)]
        if len(source) > 3 and rng.random() < 1 / 3:
            source = source[:-1]
        pairs = [_vary_pair(pair, conversation_id, rescale, name) for pair in source]
        if rng.random() < 0.2:
            _break(pairs, rng.choice(BREAKAGES), rng)
        conversations.append(SyntheticConversation(conversation_id, number, "tier1_template", pairs))
    return conversations


@dataclass(frozen=True)
class MetricsPhase:
    conversations: int
    turns: int
    seconds: float
    peak_rss_mb: float
    ready: int
    with_failed_checks: int

    @property
    def per_conversation_ms(self) -> float:
        return 1000 * self.seconds / self.conversations


@dataclass(frozen=True)
class RecomputePhase:
    conversations: int
    load_seconds: float
    seconds: float
    peak_rss_mb: float
    postgres: str


@dataclass(frozen=True)
class QualityBenchResult:
    metrics: MetricsPhase
    recompute: RecomputePhase | None
    duplicates: DuplicatesBenchResult
    duplicates_peak_rss_mb: float

    @property
    def met_target(self) -> bool:
        return self.metrics.seconds < TARGET_METRICS_SECONDS and self.duplicates.met_target

    def describe(self) -> str:
        m = self.metrics
        lines = [
            f"metrics: {m.conversations:,} conversations ({m.turns:,} turns) in {m.seconds:.2f} s "
            f"({m.per_conversation_ms:.2f} ms each), peak RSS {m.peak_rss_mb:.0f} MB; "
            f"{m.ready:,} complete, {m.with_failed_checks:,} failing a check",
        ]
        if self.recompute is not None:
            r = self.recompute
            lines.append(
                f"recompute over the database: {r.conversations:,} conversations in {r.seconds:.2f} s "
                f"(loaded in {r.load_seconds:.2f} s), peak RSS {r.peak_rss_mb:.0f} MB"
            )
        lines.append(f"duplicates: {self.duplicates.describe()}")
        return "\n".join(lines)


def run_metrics_phase(conversations: list[SyntheticConversation]) -> MetricsPhase:
    started = time.perf_counter()
    complete = failing = 0
    for conversation in conversations:
        evaluation = evaluate(conversation.pairs, tier=conversation.tier, status="generated", is_seed=False)
        evaluation.as_row()
        complete += evaluation.complete
        failing += evaluation.passed < evaluation.applicable
    seconds = time.perf_counter() - started
    return MetricsPhase(
        conversations=len(conversations),
        turns=sum(len(c.pairs) for c in conversations),
        seconds=seconds,
        peak_rss_mb=_peak_rss_mb(),
        ready=complete,
        with_failed_checks=failing,
    )


def _conversation_row(conversation: SyntheticConversation) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "conversation_id": conversation.conversation_id,
        "conversation_number": conversation.number,
        "persona_type": "Mixed",
        "persona_name": "Bench client",
        "topic_category": "Benchmark conversation",
        "tier": conversation.tier,
        "generation_status": "generated",
        "turn_count": len(conversation.pairs),
    }


def _turn_rows(row_id: uuid.UUID, conversation: SyntheticConversation) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "turn_id": pair.id,
            "conversation_id": row_id,
            "turn_number": pair.turn_number,
            "system_prompt": pair.system_prompt,
            "user_input": pair.current_user_input,
            "target_response": pair.target_response,
            "source_json": pair.to_json_dict(),
        }
        for pair in conversation.pairs
    ]


def load_and_recompute(database: Database, conversations: list[SyntheticConversation]) -> RecomputePhase:
    """Load the conversations (turns only: what recomputing reads) into an empty database, then time
    ``recompute_all`` over them, commit included."""
    started = time.perf_counter()
    for start in range(0, len(conversations), LOAD_BATCH):
        chunk = conversations[start : start + LOAD_BATCH]
        with database.session_scope() as session:
            rows = [_conversation_row(c) for c in chunk]
            turns = [t for row, c in zip(rows, chunk, strict=True) for t in _turn_rows(row["id"], c)]
            bulk_insert(session, [(table_of(TrainingConversation), rows), (table_of(TrainingTurn), turns)])
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with database.session_scope() as session:
        report = recompute_all(session=session)
    seconds = time.perf_counter() - started
    if report.recomputed != len(conversations):
        raise RuntimeError(f"recomputed {report.recomputed} of {len(conversations)} conversations")
    return RecomputePhase(
        conversations=report.recomputed,
        load_seconds=load_seconds,
        seconds=seconds,
        peak_rss_mb=_peak_rss_mb(),
        postgres=server_version(database.target.conninfo),
    )


def run_recompute_phase(settings: Settings, conversations: list[SyntheticConversation]) -> RecomputePhase:
    """:func:`load_and_recompute` on a fresh database (embedded, or on the DATABASE_URL server), dropped after."""
    with fresh_database(settings, prefix="tds_bench_quality") as target:
        migrate(target.conninfo)
        database = Database(target)
        try:
            return load_and_recompute(database, conversations)
        finally:
            database.dispose()


def run_quality_bench(
    settings: Settings,
    *,
    conversations: int = DEFAULT_CONVERSATIONS,
    db_conversations: int = DEFAULT_CONVERSATIONS,
    duplicate_conversations: int = DEFAULT_CONVERSATIONS,
    log: Callable[[str], None] = lambda _: None,
) -> QualityBenchResult:
    log(f"building {conversations:,} synthetic conversations from the samples…")
    synthetic = synthetic_conversations(max(conversations, db_conversations))
    log("timing the metrics and checks…")
    metrics = run_metrics_phase(synthetic[:conversations])
    recompute = None
    if db_conversations:
        log(f"loading {db_conversations:,} conversations into a fresh database and recomputing…")
        recompute = run_recompute_phase(settings, synthetic[:db_conversations])
    log(f"timing near-duplicate detection over {duplicate_conversations:,} conversations…")
    duplicates = run_duplicates_bench(duplicate_conversations)
    return QualityBenchResult(metrics, recompute, duplicates, _peak_rss_mb())


def append_to_docs(result: QualityBenchResult, path: Path = DOCS_FILE) -> Path:
    m, d = result.metrics, result.duplicates
    lines = [
        f"- Machine: {machine_line()}",
        f"- Workload: `tds bench quality`: {m.conversations:,} conversations ({m.turns:,} turns) cloned in memory",
        "  from data/samples and varied (figures rescaled, client renamed, a third one turn shorter, a fifth",
        "  broken on purpose); each gets `evaluate` (importer counts + every check) and its `quality_metrics` row",
        f"- Metrics: **{m.seconds:.2f} s** ({m.per_conversation_ms:.2f} ms per conversation); peak RSS "
        f"{m.peak_rss_mb:.0f} MB",
        f"  (process, the synthetic documents included); {m.ready:,} complete, "
        f"{m.with_failed_checks:,} failing a check",
    ]
    if result.recompute is not None:
        r = result.recompute
        lines += [
            f"- Recompute over the database (PostgreSQL {r.postgres}; for information, no target): "
            f"{r.conversations:,} conversations",
            f"  loaded in {r.load_seconds:.2f} s (one `source_json` per turn), then `recompute_all` (read, validate,",
            f"  check, upsert in batches of 500) **{r.seconds:.2f} s**; peak RSS {r.peak_rss_mb:.0f} MB",
        ]
    lines += [
        f"- Near-duplicates: {d.conversations:,} synthetic conversations (`bench/duplicates_bench.py`): "
        f"**{d.seconds:.2f} s**,",
        f"  planted pairs found {d.found_planted}/{d.planted}; peak RSS {result.duplicates_peak_rss_mb:.0f} MB "
        "(process, after every phase)",
        f"- Targets: metrics < {TARGET_METRICS_SECONDS:.0f} s: "
        f"{'met' if m.seconds < TARGET_METRICS_SECONDS else 'NOT met'}; duplicates < "
        f"{DUPLICATES_TARGET_SECONDS:.0f} s: {'met' if d.met_target else 'NOT met'}",
    ]
    return append_section("Quality checks and near-duplicates", "\n".join(lines), path)
