"""The CSV and PDF builders on their own (no database): formula guarding, glyph fallback, and text that
could break a layout."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from training_data_studio.conversations.schemas import ConversationDetail, EmotionalContextRead
from training_data_studio.exports.conversation_csv import conversation_csv, neutralise_formula
from training_data_studio.exports.conversation_pdf import REPLACEMENT, GlyphFilter, conversation_report_pdf

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def make_detail(
    *, user_input: str = "Hello.", sentence: str = "Hi.", phrase: str = "Hi", **changes: Any
) -> ConversationDetail:
    """A one-turn conversation with the fewest fields the detail model requires."""
    turn = {
        "turn_id": "unit_001_turn1",
        "turn_number": 1,
        "user_intent": None,
        "user_input": user_input,
        "target_response": sentence,
        "target_response_word_count": 1,
        "target_response_sentence_count": 1,
        "response_structure_type": None,
        "difficulty_level": None,
        "key_learning_objective": None,
        "demonstrates_skills": None,
        "emotional_progression_target": None,
        "positive_indicators": None,
        "neutral_indicators": None,
        "negative_indicators": None,
        "emotional_context": None,
        "response_strategy": None,
        "sentences": [
            {
                "sentence_number": 1,
                "sentence_text": sentence,
                "function": "greet",
                "emotional_purpose": "warmth",
                "technique": "plain",
                "teaches_model": "be brief",
                "word_choice_rationale": {phrase: "short and kind"},
                "psychological_principle": None,
                "stylistic_note": None,
            }
        ],
    }
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "conversation_id": "unit_001",
        "conversation_number": 1,
        "persona_type": "Marcus",
        "persona_name": "Unit Client",
        "topic_category": "Unit topic",
        "tier": "tier1_template",
        "generation_status": "generated",
        "generation_attempts": 0,
        "turn_count": 1,
        "is_seed_example": False,
        "human_reviewed": False,
        "created_at": NOW,
        "updated_at": NOW,
        "turns": [turn],
        "quality_metrics": None,
    }
    # Every other column of the detail may be null.
    nulls = {name: None for name, field in ConversationDetail.model_fields.items() if field.is_required()}
    return ConversationDetail.model_validate(nulls | values | changes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain text", "plain text"),
        ("a = b", "a = b"),
        ("", ""),
    ],
)
def test_formula_like_text_gets_a_leading_apostrophe(text: str, expected: str) -> None:
    assert neutralise_formula(text) == expected


def test_a_conversation_without_turns_has_no_csv() -> None:
    with pytest.raises(ValueError, match="no turns"):
        conversation_csv(make_detail(turns=[]))


def test_the_csv_round_trips_through_the_csv_module() -> None:
    text = 'She said "fine",\nthen left; = not a formula here'
    content = conversation_csv(make_detail(user_input=text))
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1
    assert rows[0]["user_input"] == text
    assert rows[0]["primary_emotion"] == ""


COVERED = GlyphFilter(ord(ch) for ch in "abc é\u2019")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", "abc"),
        ("e\u0301", "é"),  # decomposed accents are composed first, so the font's precomposed glyph is used
        ("a\r\nb\rc", "a\nb\nc"),
        ("a\tb", "a    b"),
        ("a\x00\x07b", "ab"),  # control characters print nothing useful
        ("a\U0001f642", "a[slightly smiling face]"),
        ("\U0001f44d\U0001f3fd", "[thumbs up sign]"),  # the skin tone only modified the emoji
        ("\u2764\ufe0f", "[heavy black heart]"),  # the variation selector goes
        ("\U0001f468\u200d\U0001f467", "[man][girl]"),  # so does the joiner
        ("\u4e2d\u6587", REPLACEMENT * 2),  # a letter the font lacks has no useful name
    ],
)
def test_the_glyph_filter_keeps_what_the_font_has_and_replaces_the_rest(text: str, expected: str) -> None:
    assert COVERED(text) == expected


def test_the_report_wraps_words_longer_than_a_line() -> None:
    word = "x" * 3000
    url = "https://example.com/" + "a" * 400
    detail = make_detail(user_input=f"{word} {url}", sentence=f"See {url}.", phrase=url, topic_category=word)
    reader = PdfReader(io.BytesIO(conversation_report_pdf(detail)))
    flat = "".join("".join(page.extract_text() for page in reader.pages).split())
    assert word in flat
    assert url in flat
    assert len(reader.pages) >= 2


def test_the_report_prints_deeply_nested_annotations_without_running_off_the_page() -> None:
    nested: dict[str, Any] = {"level": "innermost"}
    for _ in range(60):
        nested = {"level": nested}
    detail = make_detail()
    context = {
        "primary_emotion": "worry",
        "primary_confidence": 0.7,
        "intensity": 0.6,
        "valence": "negative",
        "valence_original": "negative",
        "risk_level": "low",
        "behavioral_assessment": {"risk_level": "low", "decision_readiness": "not_ready"},
        "client_needs": [{"need": "Some calm", "priority": 1, "detail": nested}],
    }
    nulls = {name: None for name, field in EmotionalContextRead.model_fields.items() if field.is_required()}
    detail.turns[0].emotional_context = EmotionalContextRead.model_validate(nulls | context)
    reader = PdfReader(io.BytesIO(conversation_report_pdf(detail)))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Some calm (priority 1)" in text
    assert "Decision readiness: not ready" in text
    assert "innermost" in text
