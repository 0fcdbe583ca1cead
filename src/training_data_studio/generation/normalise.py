"""Fix locally what the Studio can compute, before a generated reply is judged.

A model that writes a gold-standard conversation still slips on bookkeeping: it miscounts the sentences of a
reply, numbers ``conversation_turn`` from 0, copies the example's pair ids, leaves a double space. None of
that makes the training example wrong, and every value is computable from the text itself or the plan row,
so a repair round trip (which resends the whole prompt) would be money spent on arithmetic. This module
sets each such value to what it must be and records a :class:`Normalisation` (what, where, before, after),
which is stored on the attempt so a reviewer can see what was changed.

Scores outside their range are clamped here too (the document model would reject them), with the original
kept in the normalisation and reported as a quality warning by :mod:`.checks`.

Everything works on the raw JSON (a deep copy), before the document model validates it, so a fix can turn
a reply the model would reject (a ``quality_score`` of 6, ``sentence_number`` 0..n-1) into one it accepts.
Values of the wrong JSON type are left alone: the document model reports them with their path.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from typing import Any

from ..quality.checks.text import split_sentences

# Ranges of the numbers the document model bounds (conversations/document.py: Score and UnitInterval).
SCORE_RANGE = (1, 5)
UNIT_RANGE = (0, 1)
# The confidences and intensities of detected_emotions.
UNIT_FIELDS = ("primary_confidence", "secondary_confidence", "tertiary_confidence", "intensity")

_RUNS_OF_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Normalisation:
    """One computed value set in place of the model's: ``code``, JSON ``path``, the value before and after."""

    code: str
    path: str
    before: Any
    after: Any

    @property
    def clamped(self) -> bool:
        return self.code == "score_clamped"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "path": self.path, "before": self.before, "after": self.after}


def single_spaced(text: str) -> str:
    """``text`` with every run of white space (line breaks included) made one space, and stripped."""
    return _RUNS_OF_SPACE.sub(" ", text).strip()


class _Recorder:
    def __init__(self) -> None:
        self.changes: list[Normalisation] = []

    def set(self, container: dict[str, Any], key: str, value: Any, *, code: str, path: str) -> None:
        before = container.get(key)
        if before == value and type(before) is type(value):
            return
        container[key] = value
        self.changes.append(Normalisation(code, path, before, value))


def _clamp(recorder: _Recorder, container: dict[str, Any], key: str, bounds: tuple[int, int], path: str) -> None:
    value = container.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    low, high = bounds
    if low <= value <= high:
        return
    clamped = low if value < low else high
    recorder.set(container, key, clamped, code="score_clamped", path=f"{path}.{key}")


def _text(recorder: _Recorder, container: dict[str, Any], key: str, path: str, *, collapse: bool) -> None:
    value = container.get(key)
    if not isinstance(value, str):
        return
    fixed = single_spaced(value) if collapse else value.strip()
    if fixed and fixed != value:
        recorder.set(container, key, fixed, code="whitespace", path=f"{path}.{key}")


def _turn_numbers_in_order(pairs: list[Any]) -> bool:
    """True when every pair has a whole turn number and they strictly increase: a renumbering 1..n then
    keeps every pair where the model put it (0..n-1, or 2..n+1, are off by a constant, not disordered)."""
    numbers: list[int] = []
    for pair in pairs:
        number = pair.get("turn_number") if isinstance(pair, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            return False
        numbers.append(number)
    return all(a < b for a, b in itertools.pairwise(numbers))


def normalise_pair(
    recorder: _Recorder, pair: dict[str, Any], *, conversation_id: str, turn_number: int | None, path: str
) -> None:
    """Fix one pair in place. ``turn_number`` is its position when that is unambiguous, else None."""
    if turn_number is not None:
        recorder.set(pair, "turn_number", turn_number, code="turn_number", path=f"{path}.turn_number")
    number = pair.get("turn_number")
    recorder.set(pair, "conversation_id", conversation_id, code="conversation_id", path=f"{path}.conversation_id")
    if isinstance(number, int) and not isinstance(number, bool):
        recorder.set(pair, "id", f"{conversation_id}_turn{number}", code="pair_id", path=f"{path}.id")
    _text(recorder, pair, "current_user_input", path, collapse=False)
    _text(recorder, pair, "target_response", path, collapse=True)

    metadata = pair.get("training_metadata")
    if isinstance(metadata, dict):
        where = f"{path}.training_metadata"
        if isinstance(number, int) and not isinstance(number, bool) and "conversation_turn" in metadata:
            recorder.set(
                metadata, "conversation_turn", number, code="conversation_turn", path=f"{where}.conversation_turn"
            )
        _clamp(recorder, metadata, "quality_score", SCORE_RANGE, where)
        criteria = metadata.get("quality_criteria")
        if isinstance(criteria, dict):
            for key in list(criteria):
                _clamp(recorder, criteria, key, SCORE_RANGE, f"{where}.quality_criteria")

    context = pair.get("emotional_context")
    emotions = context.get("detected_emotions") if isinstance(context, dict) else None
    if isinstance(emotions, dict):
        for key in UNIT_FIELDS:
            _clamp(recorder, emotions, key, UNIT_RANGE, f"{path}.emotional_context.detected_emotions")

    breakdown = pair.get("response_breakdown")
    if isinstance(breakdown, dict):
        where = f"{path}.response_breakdown"
        sentences = breakdown.get("sentences")
        if isinstance(sentences, list):
            for index, sentence in enumerate(sentences):
                if not isinstance(sentence, dict):
                    continue
                at = f"{where}.sentences[{index}]"
                _text(recorder, sentence, "text", at, collapse=True)
                recorder.set(
                    sentence, "sentence_number", index + 1, code="sentence_number", path=f"{at}.sentence_number"
                )
        reply = pair.get("target_response")
        if isinstance(reply, str) and reply.strip():
            counted = len(split_sentences(reply))
            recorder.set(breakdown, "total_sentences", counted, code="total_sentences", path=f"{where}.total_sentences")


def normalise_conversation(data: dict[str, Any], conversation_id: str) -> tuple[dict[str, Any], list[Normalisation]]:
    """A fixed deep copy of a generated conversation (``conversation_metadata`` + ``training_pairs``) and
    what was changed. ``conversation_id`` is the plan row's: the one id every part must carry."""
    fixed = copy.deepcopy(data)
    recorder = _Recorder()
    pairs = fixed.get("training_pairs")
    metadata = fixed.get("conversation_metadata")
    if isinstance(metadata, dict):
        recorder.set(
            metadata,
            "conversation_id",
            conversation_id,
            code="conversation_id",
            path="$.conversation_metadata.conversation_id",
        )
        if isinstance(pairs, list) and pairs and "total_turns" in metadata:
            recorder.set(
                metadata, "total_turns", len(pairs), code="total_turns", path="$.conversation_metadata.total_turns"
            )
    if isinstance(pairs, list):
        renumber = _turn_numbers_in_order(pairs)
        for index, pair in enumerate(pairs):
            if isinstance(pair, dict):
                normalise_pair(
                    recorder,
                    pair,
                    conversation_id=conversation_id,
                    turn_number=index + 1 if renumber else None,
                    path=f"$.training_pairs[{index}]",
                )
    return fixed, recorder.changes


def normalise_turn(
    data: dict[str, Any], conversation_id: str, turn_number: int, *, path: str = "$"
) -> tuple[dict[str, Any], list[Normalisation]]:
    """A fixed deep copy of ONE generated pair (a turn written on its own) and what was changed."""
    fixed = copy.deepcopy(data)
    recorder = _Recorder()
    normalise_pair(recorder, fixed, conversation_id=conversation_id, turn_number=turn_number, path=path)
    return fixed, recorder.changes
