"""What an export leaves out, and what must stay together, so a trainer can trust the split.

* **Exact duplicates**: conversations with the same normalised dialogue (every client message and reply,
  lowercased, punctuation dropped, whitespace collapsed) are one example: the first in conversation-number
  order is kept, the others are excluded as ``exact_duplicate`` and counted.
* **Seed copies**: a generated conversation that shares a run of at least :data:`SEED_COPY_WORDS`
  consecutive words with a seed it was generated from (the seeds its prompt showed, else every seed) has
  copied the example rather than learnt from it; it is excluded as ``copies_seed`` unless asked for.
* **Near-duplicate groups**: what is left is grouped by the MinHash near-duplicate detection of
  ``quality/duplicates.py`` (pairs at or above its threshold, joined transitively). The split assigns whole
  groups, so no two near-duplicates sit on both sides of it. A group of two or more is "merged".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..quality.duplicates import DEFAULT_THRESHOLD, find_near_duplicates, words
from .formats import ExportConversation

# 30 words is about two sentences: ordinary shared phrasing ("I hear how stressful this has been for you")
# stays far below it, while a reply lifted from a seed passes it at once.
SEED_COPY_WORDS = 30


@dataclass(frozen=True, slots=True)
class Exclusion:
    conversation_id: str
    reason: str
    detail: str
    related_id: str  # the conversation it duplicates, or the seed it copies


@dataclass(slots=True)
class Cleaned:
    kept: list[ExportConversation]
    exclusions: list[Exclusion] = field(default_factory=list)
    # conversation id -> the group it belongs to (the smallest id in its near-duplicate group).
    groups: dict[str, str] = field(default_factory=dict)

    def count(self, reason: str) -> int:
        return sum(1 for e in self.exclusions if e.reason == reason)

    @property
    def merged(self) -> int:
        """Conversations in a near-duplicate group of two or more (kept, but split together)."""
        sizes: dict[str, int] = {}
        for group in self.groups.values():
            sizes[group] = sizes.get(group, 0) + 1
        return sum(1 for group in self.groups.values() if sizes[group] > 1)


def dialogue_text(conversation: ExportConversation) -> str:
    """Client messages and replies in order, one per line (what is compared)."""
    lines = []
    for pair in conversation.pairs:
        lines += [pair.current_user_input, pair.reply]
    return "\n".join(lines)


def dialogue_key(conversation: ExportConversation) -> str:
    normalised = " ".join(words(dialogue_text(conversation)))
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def longest_shared_run(text: str, source: str, *, at_least: int = SEED_COPY_WORDS) -> int:
    """The longest run of consecutive words ``text`` shares with ``source``, if at least ``at_least``, else 0."""
    mine, theirs = words(text), words(source)
    if len(mine) < at_least or len(theirs) < at_least:
        return 0
    starts = {tuple(theirs[i : i + at_least]): i for i in range(len(theirs) - at_least + 1)}
    best = 0
    i = 0
    while i <= len(mine) - at_least:
        gram = tuple(mine[i : i + at_least])
        if gram in starts:
            j = starts[gram] + at_least
            length = at_least
            while i + length < len(mine) and j < len(theirs) and mine[i + length] == theirs[j]:
                length += 1
                j += 1
            best = max(best, length)
            i += length - at_least + 1
        else:
            i += 1
    return best


def clean(
    conversations: Sequence[ExportConversation],
    *,
    seed_texts: Mapping[str, str] | None = None,
    sources: Mapping[str, Sequence[str]] | None = None,
    allow_seed_copies: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
) -> Cleaned:
    """Drop exact duplicates and (unless allowed) seed copies; group what is left by near-duplication.

    ``seed_texts`` maps a seed conversation id to its dialogue text; ``sources`` maps a generated
    conversation id to the seeds its prompt showed (when recorded).
    """
    ordered = sorted(conversations, key=lambda c: (c.conversation_number, c.conversation_id))
    exclusions: list[Exclusion] = []
    first_with: dict[str, str] = {}
    unique: list[ExportConversation] = []
    for conversation in ordered:
        key = dialogue_key(conversation)
        if key in first_with:
            exclusions.append(
                Exclusion(
                    conversation.conversation_id,
                    "exact_duplicate",
                    f"same dialogue as {first_with[key]}",
                    first_with[key],
                )
            )
            continue
        first_with[key] = conversation.conversation_id
        unique.append(conversation)

    kept: list[ExportConversation] = []
    seeds = dict(seed_texts or {})
    for conversation in unique:
        if conversation.is_seed_example or not seeds:
            kept.append(conversation)
            continue
        candidates = [s for s in (sources or {}).get(conversation.conversation_id, []) if s in seeds] or sorted(seeds)
        text = dialogue_text(conversation)
        copied = [
            (run, seed)
            for seed in candidates
            if seed != conversation.conversation_id
            if (run := longest_shared_run(text, seeds[seed]))
        ]
        if copied and not allow_seed_copies:
            run, seed = max(copied)
            exclusions.append(
                Exclusion(
                    conversation.conversation_id, "copies_seed", f"shares a run of {run} words with seed {seed}", seed
                )
            )
            continue
        kept.append(conversation)

    groups = {c.conversation_id: c.conversation_id for c in kept}
    pairs = find_near_duplicates([(c.conversation_id, dialogue_text(c)) for c in kept], threshold=threshold)
    parent = dict(groups)

    def root(ident: str) -> str:
        while parent[ident] != ident:
            parent[ident] = parent[parent[ident]]
            ident = parent[ident]
        return ident

    for pair in pairs:
        first, second = root(pair.first_id), root(pair.second_id)
        if first != second:
            parent[max(first, second)] = min(first, second)
    groups = {ident: root(ident) for ident in groups}
    return Cleaned(kept=kept, exclusions=sorted(exclusions, key=lambda e: (e.reason, e.conversation_id)), groups=groups)
