"""A deterministic train / validation split, stratified by (persona_type, tier).

The rule, per stratum (the conversations sharing one persona type and one tier):

1. sort the stratum's conversation ids (plain string order);
2. shuffle them with ``random.Random(f"{seed}:{persona_type}|{tier}")`` (a string seed is hashed with
   SHA-512 by Python, so the order is the same on every machine and every run, whatever PYTHONHASHSEED);
3. the first ``k`` go to validation, the rest to train, where ``k = floor(n * fraction + 0.5)`` (n times
   the fraction, rounded half up), raised to 1 when the stratum has at least 2 conversations and the
   fraction is above 0, and capped at ``n - 1`` so every stratum keeps at least one training conversation.
   A stratum of one conversation always goes to train.

Whole conversations are split, never turns, so no conversation's text is on both sides. When
near-duplicate groups are given, whole groups are split the same way: a group counts as one item of the
stratum of its first member (by id), so near-duplicates never straddle train and validation. Without
groups (every conversation its own group) the split is exactly the per-conversation one.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable


def validation_count(size: int, fraction: float) -> int:
    """How many of a stratum of ``size`` conversations go to validation."""
    if size < 2 or fraction <= 0:
        return 0
    wanted = math.floor(size * fraction + 0.5)
    return min(max(wanted, 1), size - 1)


def validation_ids(items: Iterable[tuple[str, str]], *, seed: int, fraction: float) -> set[str]:
    """The ids that go to validation, from ``(conversation_id, stratum)`` pairs."""
    strata: dict[str, list[str]] = defaultdict(list)
    for conversation_id, stratum in items:
        strata[stratum].append(conversation_id)
    chosen: set[str] = set()
    for stratum, ids in strata.items():
        ordered = sorted(ids)
        random.Random(f"{seed}:{stratum}").shuffle(ordered)
        chosen.update(ordered[: validation_count(len(ordered), fraction)])
    return chosen


def stratum(persona_type: str, tier: str) -> str:
    return f"{persona_type}|{tier}"


def validation_ids_by_group(
    items: Iterable[tuple[str, str]], groups: dict[str, str], *, seed: int, fraction: float
) -> set[str]:
    """The ids that go to validation when every group (conversation id -> group id) moves as one."""
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for conversation_id, item_stratum in items:
        members[groups.get(conversation_id, conversation_id)].append((conversation_id, item_stratum))
    group_strata = [(group, min(found)[1]) for group, found in members.items()]
    chosen_groups = validation_ids(group_strata, seed=seed, fraction=fraction)
    return {conversation_id for group in chosen_groups for conversation_id, _ in members[group]}
