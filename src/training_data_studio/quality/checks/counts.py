"""Counts: turns, sentences, words and words per sentence, counted from the text, within sensible bounds.

The bounds are named constants. Turns follow the tier plan (data/templates.json, docs of the templates):
Tier 1 conversations have 3–5 turns, Tier 2 4–6, Tier 3 2–4. Reply lengths and sentence lengths are set
around our hand-written samples (207–254 words, 7–8 sentences and 27–36 words per sentence per reply)
with room on both sides: a reply far shorter cannot both attune and teach, one far longer overwhelms
an anxious reader.
"""

from __future__ import annotations

from .base import Check, ConversationView, Finding, Group, NotApplicable

TURNS_BY_TIER: dict[str, tuple[int, int]] = {
    "tier1_template": (3, 5),
    "tier2_scenario": (4, 6),
    "tier3_edge": (2, 4),
}
SENTENCES_PER_REPLY = (3, 12)
WORDS_PER_REPLY = (60, 400)
# Long sentences are hard to follow when one is worried; the samples average 27–36 words.
MAX_MEAN_WORDS_PER_SENTENCE = 40
MAX_WORDS_PER_SENTENCE = 70


def turn_count(view: ConversationView) -> list[Finding] | NotApplicable:
    bounds = TURNS_BY_TIER.get(view.tier or "")
    if bounds is None:
        return NotApplicable("the tier is unknown, so there is no turn range to compare with")
    low, high = bounds
    count = len(view.turns)
    if low <= count <= high:
        return []
    change = "Add turns" if count < low else "Merge or drop turns"
    return [Finding(f"{count} turns; {view.tier} conversations have {low}–{high}", f"{change} ({low}–{high})")]


def sentences_per_reply(view: ConversationView) -> list[Finding]:
    low, high = SENTENCES_PER_REPLY
    findings = []
    for turn in view.turns:
        count = len(turn.sentences)
        if not low <= count <= high:
            change = "Develop" if count < low else "Shorten"
            findings.append(
                Finding(
                    f"Turn {turn.number}'s reply has {count} sentences ({low}–{high} expected)",
                    f"{change} the reply of turn {turn.number}",
                    turn=turn.number,
                )
            )
    return findings


def words_per_reply(view: ConversationView) -> list[Finding]:
    low, high = WORDS_PER_REPLY
    findings = []
    for turn in view.turns:
        count = turn.words
        if not low <= count <= high:
            change = "Develop" if count < low else "Shorten"
            findings.append(
                Finding(
                    f"Turn {turn.number}'s reply has {count} words ({low}–{high} expected)",
                    f"{change} the reply of turn {turn.number}",
                    turn=turn.number,
                )
            )
    return findings


def words_per_sentence(view: ConversationView) -> list[Finding]:
    findings = []
    for turn in view.turns:
        lengths = turn.sentence_words
        if not lengths:
            continue
        mean = sum(lengths) / len(lengths)
        if mean > MAX_MEAN_WORDS_PER_SENTENCE:
            findings.append(
                Finding(
                    f"Turn {turn.number} averages {mean:.0f} words per sentence "
                    f"(at most {MAX_MEAN_WORDS_PER_SENTENCE})",
                    f"Split long sentences in turn {turn.number}",
                    turn=turn.number,
                )
            )
        for sentence, length in zip(turn.sentences, lengths, strict=True):
            if length > MAX_WORDS_PER_SENTENCE:
                findings.append(
                    Finding(
                        f"Sentence {sentence.number} of turn {turn.number} has {length} words "
                        f"(at most {MAX_WORDS_PER_SENTENCE})",
                        f"Split sentence {sentence.number} of turn {turn.number}",
                        turn=turn.number,
                        sentence=sentence.number,
                    )
                )
    return findings


CHECKS = (
    Check("turn_count", Group.COUNTS, "Turns within the tier's range", turn_count),
    Check("sentences_per_reply", Group.COUNTS, "Sentences per reply", sentences_per_reply),
    Check("words_per_reply", Group.COUNTS, "Words per reply", words_per_reply),
    Check("words_per_sentence", Group.COUNTS, "Words per sentence", words_per_sentence),
)
