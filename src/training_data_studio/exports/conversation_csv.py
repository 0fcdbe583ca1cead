"""One conversation as a CSV table: one row per turn, for spreadsheets and data tools.

The columns are flat text: list annotations are joined with ``"; "`` and annotation objects are reduced to
their headline (a client need's ``need``, a red flag's ``flag``, a technique's ``technique``). The lossless
form of a conversation is the JSON export; this one is for reading, filtering and pivoting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from ..conversations.schemas import ConversationDetail, TurnRead

LIST_SEPARATOR = "; "

# The key that names an annotation object, in the order tried: ClientNeed.need, RedFlag.flag,
# SpecificTechnique.technique (conversations/document.py), then the generic names other layouts use.
HEADLINE_KEYS = ("need", "flag", "technique", "name", "text", "description")

# A spreadsheet runs a cell that starts with one of these as a formula (or, for tab and carriage return,
# may shift it into one), so a client message such as "=HYPERLINK(...)" would turn a downloaded file into an
# attack on whoever opens it (OWASP "CSV Injection"). Such cells get a leading apostrophe, which spreadsheets
# show as plain text. Only text we did not compute is guarded: our own numbers (a negative intensity change)
# stay numbers.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# UTF-8 with a byte-order mark: Excel opens a BOM-less CSV in the machine's legacy code page, which garbles
# the curly quotes, dashes and accented names this data is full of. pandas, R, LibreOffice and Python's
# "utf-8-sig" codec all read the BOM and drop it.
CSV_ENCODING = "utf-8-sig"
# Starlette appends "; charset=utf-8" to a text/* type in the Content-Type header.
CSV_MEDIA_TYPE = "text/csv"


def neutralise_formula(text: str) -> str:
    """The text, made inert for spreadsheets when it starts like a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _headline(item: Any) -> str:
    """An annotation item as one piece of text: a string as is, an object by its naming key."""
    if item is None:
        return ""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, dict):
        for key in HEADLINE_KEYS:
            if isinstance(item.get(key), str):
                return str(item[key])
        return ", ".join(f"{key}: {_headline(value)}" for key, value in item.items())
    if isinstance(item, list):
        return ", ".join(_headline(value) for value in item)
    return str(item)


def _joined(items: Iterable[Any] | None) -> str:
    return LIST_SEPARATOR.join(text for text in (_headline(item) for item in items or []) if text)


def _key_values(mapping: dict[str, Any] | None) -> str:
    """``{"ask_permission": true}`` as ``ask_permission: true``, pairs joined like list items."""
    return LIST_SEPARATOR.join(f"{key}: {_headline(value)}" for key, value in (mapping or {}).items())


def _indicator_phrases(indicators: dict[str, Any] | None) -> str:
    """Every indicator phrase, whatever its category (a category holds a list, or now and then one string)."""
    phrases: list[Any] = []
    for value in (indicators or {}).values():
        phrases.extend(value if isinstance(value, list) else [value])
    return _joined(phrases)


Cell = str | int | float | None


def _turn_cells(c: ConversationDetail, t: TurnRead) -> dict[str, Cell]:
    """One turn's row by column name. Conversation columns repeat on every row, so each row stands alone
    in a filter or a join. Numbers stay numbers here, so that only text is checked for formula prefixes."""
    ec, rs = t.emotional_context, t.response_strategy
    return {
        "conversation_id": c.conversation_id,
        "conversation_number": c.conversation_number,
        "persona_type": c.persona_type,
        "persona_name": c.persona_name,
        "tier": c.tier,
        "template": c.tier_template,
        "topic": c.topic_category,
        "status": c.generation_status,
        "conversation_quality_score": c.quality_score,
        "turn_id": t.turn_id,
        "turn_number": t.turn_number,
        "user_intent": t.user_intent,
        "user_input": t.user_input,
        "target_response": t.target_response,
        "response_word_count": t.target_response_word_count,
        "response_sentence_count": t.target_response_sentence_count,
        "sentences_analysed": len(t.sentences),
        "word_choice_rationales": sum(len(s.word_choice_rationale) for s in t.sentences),
        "response_structure": t.response_structure_type,
        "primary_emotion": ec.primary_emotion if ec else None,
        "primary_confidence": ec.primary_confidence if ec else None,
        "intensity": ec.intensity if ec else None,
        "valence": ec.valence if ec else None,
        "secondary_emotion": ec.secondary_emotion if ec else None,
        "secondary_confidence": ec.secondary_confidence if ec else None,
        "tertiary_emotion": ec.tertiary_emotion if ec else None,
        "tertiary_confidence": ec.tertiary_confidence if ec else None,
        "intensity_change": ec.intensity_change if ec else None,
        "previous_turn_emotion": ec.previous_turn_emotion if ec else None,
        "current_turn_emotion": ec.current_turn_emotion if ec else None,
        "progression_description": ec.progression_description if ec else None,
        "risk_level": ec.risk_level if ec else None,
        "engagement_readiness": ec.engagement_readiness if ec else None,
        "knowledge_level": ec.knowledge_level if ec else None,
        "trust_level": ec.trust_level if ec else None,
        "emotional_indicator_types": _joined((ec.emotional_indicators or {}).keys()) if ec else None,
        "emotional_indicators": _indicator_phrases(ec.emotional_indicators) if ec else None,
        "client_needs": _joined(ec.client_needs) if ec else None,
        "red_flags": _joined(ec.red_flags) if ec else None,
        "primary_strategy": rs.primary_strategy if rs else None,
        "strategy_rationale": rs.primary_rationale if rs else None,
        "secondary_strategies": _joined(rs.secondary_strategies) if rs else None,
        "tone": rs.tone_selection if rs else None,
        "tone_rationale": rs.tone_rationale if rs else None,
        "pacing": rs.pacing if rs else None,
        "techniques": _joined(rs.specific_techniques) if rs else None,
        "tactical_choices": _key_values(rs.tactical_choices) if rs else None,
        "avoid_tactics": _joined(rs.avoid_tactics) if rs else None,
        "difficulty_level": t.difficulty_level,
        "key_learning_objective": t.key_learning_objective,
        "demonstrates_skills": _joined(t.demonstrates_skills),
        "emotional_progression_target": t.emotional_progression_target,
        "expected_positive_signals": _joined(t.positive_indicators),
        "expected_neutral_signals": _joined(t.neutral_indicators),
        "expected_negative_signals": _joined(t.negative_indicators),
    }


def _cell_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise_formula(value)
    return str(value)


def turn_rows(detail: ConversationDetail) -> list[dict[str, str]]:
    """The table's data rows, one per turn in turn order, as text with formula-like text neutralised."""
    return [
        {column: _cell_text(value) for column, value in _turn_cells(detail, turn).items()}
        for turn in sorted(detail.turns, key=lambda t: t.turn_number)
    ]


def conversation_csv(detail: ConversationDetail) -> bytes:
    """The whole CSV file: the header row, then one row per turn, as UTF-8 with a byte-order mark.

    The columns are named by the first row, so a conversation needs turns (the routes answer 409 first).
    """
    rows = turn_rows(detail)
    if not rows:
        raise ValueError(f"conversation {detail.conversation_id} has no turns: there are no rows to write")
    buffer = io.StringIO()
    # RFC 4180: CRLF line ends and fields quoted when needed (so multi-line messages stay in one cell).
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(CSV_ENCODING)
