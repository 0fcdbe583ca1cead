"""`tds bench quality` on a small scale: the synthetic conversations and the timed metrics phase."""

from __future__ import annotations

from training_data_studio.bench.quality_bench import run_metrics_phase, synthetic_conversations
from training_data_studio.quality.checks import evaluate


def test_synthetic_conversations_are_deterministic_varied_and_partly_broken() -> None:
    first = synthetic_conversations(60)
    again = synthetic_conversations(60)
    assert [c.pairs[0].target_response for c in first] == [c.pairs[0].target_response for c in again]
    assert len({c.conversation_id for c in first}) == 60
    assert {len(c.pairs) for c in first} == {3, 4}
    assert all(pair.conversation_id == c.conversation_id for c in first for pair in c.pairs)
    scores = [evaluate(c.pairs, tier=c.tier, status="generated", is_seed=False).computed_score for c in first]
    broken = sum(1 for score in scores if score is not None and score < 1)
    assert 0 < broken < 30  # about one in five is broken on purpose; the clones of our samples pass


def test_the_metrics_phase_counts_what_it_measured() -> None:
    phase = run_metrics_phase(synthetic_conversations(40))
    assert phase.conversations == 40
    assert phase.turns >= 120
    assert phase.seconds > 0
    assert phase.peak_rss_mb > 0
    assert 0 < phase.with_failed_checks < 40
