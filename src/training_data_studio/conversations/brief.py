"""Is a conversation about what its plan row asked for? Topic and emotional arc, by keyword overlap.

A generated (or imported) conversation can be well written and still off its brief: planned as "Estate
division family conflict", grief to healing, it talks about RSUs with an overwhelm to confidence arc. The
fourteen quality checks look at the writing, not at the plan, so this check compares the two:

* **topic**: the content words of the plan's topic (category and description) found in the turns' text, as
  a share of them. Words are compared by a crude stem (their first five letters), enough to match "divorce" and
  "divorced" without a stemmer or embeddings;
* **arc**: the planned starting emotion among the first turn's annotated emotions or in the client's first
  message, and the planned ending emotion among the last turn's or in the last exchange (emotions compared
  by their first four letters: "grief" and "grieving", "overwhelm" and "overwhelmed").

The check is off brief when the topic share is under `TOPIC_MIN_SHARE`, or when neither end of the arc is
found. The thresholds and their measured precision and recall on planted mismatches are in
tests/unit/conversations/test_brief.py and docs/decisions.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Under this share of the plan's topic stems in the text, the conversation talks about something else.
TOPIC_MIN_SHARE = 0.25
TOPIC_STEM = 5
EMOTION_STEM = 4

_WORD = re.compile(r"[a-z]+")
# Words that say nothing about a topic: function words, and the plan's recurring framing words.
STOPWORDS = frozenset(
    """
    a about above after again against all also an and any are as at be because been before being between both
    but by can could did do does doing down during each even ever every few for from further had has have
    having he her here hers him his how i if in into is it its just like made make makes many may me more most
    much must my no nor not now of off on once one only or other our out over own same she should so some
    still such than that the their them then there these they this those though through to too under until
    up very was we were what when where which while who whom why will with would yet you your
    client clients money financial finances feel feels feeling felt wants want needs need thinks think trying
    tries something someone thing things much every way ways whether actually really lot
    """.split()
)


@dataclass(frozen=True)
class BriefTurn:
    """What the check reads of one turn: the client's message, the reply, and the annotated emotions."""

    user_input: str
    response: str
    emotions: Sequence[str] = ()


@dataclass(frozen=True)
class BriefPlan:
    topic_category: str
    topic_description: str | None
    starting_emotion: str | None
    ending_emotion: str | None


@dataclass(frozen=True)
class BriefResult:
    topic_share: float
    topic_found: list[str] = field(default_factory=list)
    topic_missing: list[str] = field(default_factory=list)
    start_found: bool | None = None
    end_found: bool | None = None

    @property
    def on_brief(self) -> bool:
        arc_known = [found for found in (self.start_found, self.end_found) if found is not None]
        arc_lost = bool(arc_known) and not any(arc_known)
        return self.topic_share >= TOPIC_MIN_SHARE and not arc_lost

    def summary(self, plan: BriefPlan) -> str:
        words = f"{len(self.topic_found)} of {len(self.topic_found) + len(self.topic_missing)} topic words"
        arc = []
        if self.start_found is not None:
            arc.append(f"starts in {plan.starting_emotion}: {'yes' if self.start_found else 'not found'}")
        if self.end_found is not None:
            arc.append(f"ends in {plan.ending_emotion}: {'yes' if self.end_found else 'not found'}")
        verdict = "On brief" if self.on_brief else "Off brief"
        return f"{verdict}: {words} ({self.topic_share:.0%}); " + "; ".join(arc) + "."


def _stems(text: str | None, size: int) -> dict[str, str]:
    """Each content word's stem, with the first word that had it (for showing)."""
    stems: dict[str, str] = {}
    for word in _WORD.findall((text or "").lower()):
        if len(word) < 3 or word in STOPWORDS:
            continue
        stems.setdefault(word[:size], word)
    return stems


def _has_emotion(emotion: str | None, labels: Iterable[str], text: str) -> bool | None:
    if not emotion or not emotion.strip() or emotion.strip().lower() == "unspecified":
        return None
    wanted = set(_stems(emotion.replace("_", " "), EMOTION_STEM))
    if not wanted:
        return None
    found = set(_stems(" ".join(labels).replace("_", " "), EMOTION_STEM)) | set(_stems(text, EMOTION_STEM))
    return bool(wanted & found)


def check_brief(plan: BriefPlan, turns: Sequence[BriefTurn]) -> BriefResult | None:
    """Compare the turns with their plan row; None when there is nothing to compare (no turns)."""
    if not turns:
        return None
    wanted = _stems(f"{plan.topic_category} {plan.topic_description or ''}", TOPIC_STEM)
    text = " ".join(f"{t.user_input} {t.response}" for t in turns)
    present = set(_stems(text, TOPIC_STEM))
    found = [word for stem, word in wanted.items() if stem in present]
    missing = [word for stem, word in wanted.items() if stem not in present]
    share = len(found) / len(wanted) if wanted else 1.0
    first, last = turns[0], turns[-1]
    return BriefResult(
        topic_share=share,
        topic_found=found,
        topic_missing=missing,
        start_found=_has_emotion(plan.starting_emotion, first.emotions, first.user_input),
        end_found=_has_emotion(plan.ending_emotion, last.emotions, f"{last.user_input} {last.response}"),
    )
