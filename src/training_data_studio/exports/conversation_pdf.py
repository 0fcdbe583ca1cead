"""One conversation as a readable PDF report: its metadata and emotional arc, then every turn (the client's
message, Elena's reply, the emotional context, the response strategy and the sentence-by-sentence breakdown
with its word-choice rationales), then the quality metrics. Page numbers in every footer.

Built with fpdf2 on DejaVu Sans, shipped in ``fonts/`` beside this module (with its licence), so the report
looks the same on every machine and needs no system font. The text is full Unicode; the few characters the
font has no glyph for (most emoji, CJK) are replaced by :class:`GlyphFilter`, never left to crash or vanish.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TTFFont
from fpdf.util import Padding

from ..conversations.schemas import STATUS_LABELS, TIER_LABELS, ConversationDetail, SentenceRead, TurnRead

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVuSans"
FONT_FILES = {"": FONT_DIR / "DejaVuSans.ttf", "B": FONT_DIR / "DejaVuSans-Bold.ttf"}
PDF_MEDIA_TYPE = "application/pdf"

# Layout, in millimetres and points. A4, because the people reviewing this data print on it.
MARGIN = 18.0
BODY_SIZE = 9.5
SMALL_SIZE = 8.5
LINE = 4.6
SMALL_LINE = 4.1
INDENT = 5.0
# A heading closer than this to the bottom of the page starts the next page instead of being left alone.
KEEP_WITH_NEXT = 28.0

INK = (33, 37, 41)
MUTED = (96, 104, 116)
ACCENT = (31, 78, 140)
RULE = (205, 211, 219)
CLIENT_FILL = (243, 244, 246)
ELENA_FILL = (231, 240, 251)

# The key that names an annotation object (a client need, a red flag, a technique): shown first, in bold.
HEADLINE_KEYS = ("need", "flag", "technique", "name", "text", "description")

# Postgres stores JSON objects with their keys sorted by length, so the annotation objects' keys come back
# as "handling" before "implication". These keys are put back in the order they are read in; others follow.
READING_ORDER = ("priority", "application", "purpose", "rationale", "implication", "handling")

BEHAVIOUR_COLUMNS = ("risk_level", "engagement_readiness", "knowledge_level", "trust_level")

# Every nesting level of an annotation indents by INDENT; deeper than this prints as compact JSON, so odd
# data cannot push the text off the page.
MAX_NESTING = 3

# Emoji skin-tone modifiers: they only recolour the emoji before them, which is replaced anyway.
SKIN_TONES = range(0x1F3FB, 0x1F400)
REPLACEMENT = "\ufffd"


class GlyphFilter:
    """Makes text printable with fonts that cover ``covered`` code points.

    fpdf2 prints a character its font lacks as an empty box (and logs a warning), which hides what the
    client wrote. Instead: a symbol such as an emoji becomes its Unicode name in brackets ("[grinning
    face]"), marks that only modify a neighbour (variation selectors, joiners, skin tones) are dropped, and
    anything else becomes U+FFFD. Control characters other than newlines go; tabs become spaces.
    """

    def __init__(self, covered: Iterable[int]) -> None:
        self.covered = frozenset(covered)

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
        if all(ord(ch) in self.covered or ch == "\n" for ch in text):
            return text
        return "".join(self._printable(ch) for ch in text)

    def _printable(self, ch: str) -> str:
        code = ord(ch)
        if code in self.covered or ch == "\n":
            return ch
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Mn", "Me") or code in SKIN_TONES:
            return ""
        name = unicodedata.name(ch, "")
        if category.startswith("S") and name:
            return f"[{name.lower()}]"
        return REPLACEMENT


def _words(key: str) -> str:
    """An annotation key or value written for people: ``validate_then_untangle`` as "validate then untangle"."""
    return key.replace("_", " ").strip()


def _readable(text: str) -> str:
    """Generated annotations often use snake_case labels ("evidence_based_reframe"); prose reads as it is."""
    return _words(text) if " " not in text.strip() else text


def _label(key: str) -> str:
    words = _words(key)
    return words[:1].upper() + words[1:]


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} / 5"


def _intensity(value: float | None) -> str:
    return "" if value is None else f" ({value:.2f})"


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _compact(value: Any) -> str:
    return _scalar(value) if _is_scalar(value) else json.dumps(value, ensure_ascii=False)


def _in_reading_order(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    def rank(key: str) -> int:
        return READING_ORDER.index(key) if key in READING_ORDER else len(READING_ORDER)

    return sorted(mapping.items(), key=lambda pair: rank(pair[0]))


def _in_sentence_order(rationales: dict[str, Any], sentence: str) -> list[tuple[str, Any]]:
    """Word-choice rationales in the order their phrases appear in the sentence (unfound phrases last)."""
    text = sentence.casefold()

    def position(phrase: str) -> int:
        found = text.find(phrase.casefold())
        return found if found >= 0 else len(text)

    return sorted(rationales.items(), key=lambda pair: position(pair[0]))


class ConversationReport(FPDF):
    """The report's pages: running header, footer with page numbers, and the writing helpers."""

    def __init__(self, detail: ConversationDetail) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.detail = detail
        for style, path in FONT_FILES.items():
            self.add_font(FAMILY, style, str(path))
        # Both faces must have the glyph: any text may be printed bold.
        faces = [set(font.cmap) for font in self.fonts.values() if isinstance(font, TTFFont)]
        self.clean = GlyphFilter(set.intersection(*faces))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)
        self.set_title(self.clean(f"Conversation #{detail.conversation_number} · {detail.conversation_id}"))
        self.set_subject(self.clean(detail.topic_category))
        self.set_author("Training Data Studio")
        self.set_creator("Training Data Studio")
        self.set_lang("en")
        self._font(BODY_SIZE)

    # --- page furniture ---------------------------------------------------------------------------

    def header(self) -> None:
        if self.page_no() == 1:
            return
        # A page can break inside an indented block: the furniture is placed from the page edge, not l_margin.
        self._font(SMALL_SIZE, color=MUTED)
        title = f"Conversation #{self.detail.conversation_number} · {self.detail.conversation_id}"
        self.set_xy(MARGIN, MARGIN - 8)
        self.cell(self.w - 2 * MARGIN, 5, self.clean(title))
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(MARGIN, MARGIN - 2.5, self.w - MARGIN, MARGIN - 2.5)
        self.set_xy(self.l_margin, MARGIN)
        self._font(BODY_SIZE)

    def footer(self) -> None:
        self.set_xy(MARGIN, -12)
        self._font(SMALL_SIZE, color=MUTED)
        half = (self.w - 2 * MARGIN) / 2
        left = f"{self.detail.conversation_id} · Training Data Studio"
        self.cell(half, 5, self.clean(left), align="L")
        self.cell(half, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    # --- writing helpers --------------------------------------------------------------------------

    def _font(self, size: float, *, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*color)

    def _rule(self) -> None:
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())

    def room_for(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit on this one."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    @contextmanager
    def indented(self, by: float = INDENT) -> Iterator[None]:
        previous = self.l_margin
        self.set_left_margin(previous + by)
        self.set_x(self.l_margin)
        try:
            yield
        finally:
            self.set_left_margin(previous)
            self.set_x(previous)

    def heading(self, text: str, *, level: int = 1) -> None:
        size, space = {0: (17.0, 0.0), 1: (13.0, 5.0), 2: (10.5, 3.0)}[level]
        self.room_for(KEEP_WITH_NEXT if level else 0)
        self.ln(space)
        self._font(size, bold=True, color=ACCENT if level < 2 else INK)
        self.multi_cell(0, size * 0.5, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if level == 1:
            self.ln(1)
            self._rule()
        self.ln(1.5)
        self._font(BODY_SIZE)

    def paragraph(
        self,
        text: str,
        *,
        size: float = BODY_SIZE,
        color: tuple[int, int, int] = INK,
        fill: tuple[int, int, int] | None = None,
    ) -> None:
        self._font(size, color=color)
        if fill:
            self.set_fill_color(*fill)
        line = LINE if size >= BODY_SIZE else SMALL_LINE
        padding = Padding(top=1.8, right=2.5, bottom=1.8, left=2.5) if fill else Padding()
        self.multi_cell(
            0,
            line,
            self.clean(text),
            fill=fill is not None,
            padding=padding,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self._font(BODY_SIZE)

    def runs(
        self, parts: Sequence[tuple[str, bool]], *, size: float = BODY_SIZE, color: tuple[int, int, int] = INK
    ) -> None:
        """One wrapped paragraph of (text, bold) runs, e.g. a bold label then its value."""
        line = LINE if size >= BODY_SIZE else SMALL_LINE
        self.set_x(self.l_margin)
        for text, bold in parts:
            self._font(size, bold=bold, color=color if not bold else INK)
            self.write(line, self.clean(text))
        self.ln(line)
        self._font(BODY_SIZE)

    def field(self, label: str, value: str | None, *, size: float = BODY_SIZE) -> None:
        """``Label: value`` as one paragraph; nothing when there is no value."""
        if value is None or value == "":
            return
        self.runs([(f"{label}: ", True), (value, False)], size=size)

    def bullet(self, parts: Sequence[tuple[str, bool]], *, size: float = BODY_SIZE, mark: str = "•") -> None:
        """A list item with a hanging indent, so wrapped lines align with its text, not its mark."""
        line = LINE if size >= BODY_SIZE else SMALL_LINE
        self.room_for(line)
        top = self.get_y()
        self._font(size)
        self.set_xy(self.l_margin, top)
        self.cell(INDENT - 1, line, self.clean(mark))
        with self.indented():
            self.set_xy(self.l_margin, top)
            self.runs(parts, size=size)

    def value(self, value: Any, *, size: float = BODY_SIZE, depth: int = 0) -> None:
        """Any annotation value, readable: a list as bullets, an object as labelled lines, nested as needed."""
        if _is_scalar(value):
            self.paragraph(_scalar(value), size=size)
        elif depth >= MAX_NESTING:
            self.paragraph(_compact(value), size=size)
        elif isinstance(value, dict):
            for key, item in _in_reading_order(value):
                if _is_scalar(item):
                    self.field(_label(key), _scalar(item), size=size)
                else:
                    self.runs([(f"{_label(key)}:", True)], size=size)
                    with self.indented():
                        self.value(item, size=size, depth=depth + 1)
        else:
            for item in value:
                self.item(item, size=size, depth=depth)

    def item(self, item: Any, *, size: float = BODY_SIZE, depth: int = 0) -> None:
        """One list entry as a bullet. An object shows its headline (or its first values) on the bullet line and
        the rest of its keys under it, smaller."""
        if _is_scalar(item) or depth >= MAX_NESTING:
            self.bullet([(_compact(item), False)], size=size)
            return
        if isinstance(item, list):
            self.bullet([(", ".join(_compact(v) for v in item), False)], size=size)
            return
        headline_key = next((k for k in HEADLINE_KEYS if isinstance(item.get(k), str)), None)
        if headline_key is None:
            scalars = " · ".join(f"{_label(k)}: {_scalar(v)}" for k, v in item.items() if _is_scalar(v))
            self.bullet([(scalars, False)], size=size)
            rest = {k: v for k, v in item.items() if not _is_scalar(v)}
        else:
            headline = _readable(item[headline_key])
            if _is_scalar(item.get("priority")) and item.get("priority") is not None:
                headline += f" (priority {_scalar(item['priority'])})"
            self.bullet([(headline, True)], size=size)
            rest = {k: v for k, v in item.items() if k not in (headline_key, "priority")}
        if rest:
            with self.indented():
                self.value(rest, size=SMALL_SIZE, depth=depth + 1)


# --- the report's sections -----------------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M") if value else None


def _arc(c: ConversationDetail) -> str | None:
    if not (c.starting_emotion or c.ending_emotion):
        return None
    start = f"{c.starting_emotion or '?'}{_intensity(c.starting_emotion_intensity)}"
    end = f"{c.ending_emotion or '?'}{_intensity(c.ending_emotion_intensity)}"
    return f"{start} → {end}"


def _generation(c: ConversationDetail) -> str | None:
    parts = [
        c.generation_method,
        c.generation_model,
        _when(c.generation_date),
        f"{c.generation_duration_seconds:.1f} s" if c.generation_duration_seconds is not None else None,
        f"${c.generation_cost_cents / 100:.4f}" if c.generation_cost_cents is not None else None,
        f"{c.input_tokens} tokens in, {c.output_tokens or 0} out" if c.input_tokens is not None else None,
        f"{c.generation_attempts} attempt{'s' if c.generation_attempts != 1 else ''}"
        if c.generation_attempts
        else None,
    ]
    shown = [part for part in parts if part]
    return " · ".join(shown) if shown else None


def _metadata_rows(c: ConversationDetail) -> list[tuple[str, str]]:
    persona = f"{c.persona_name} ({c.persona_type})"
    if c.persona_description:
        persona += f"\n{c.persona_description}"
    topic = c.topic_category + (f"\n{c.topic_description}" if c.topic_description else "")
    template = (c.tier_template or "—") + (f" v{c.template_version}" if c.template_version else "")
    if c.tier_batch:
        template += f" · batch {c.tier_batch}"
    status = STATUS_LABELS.get(c.generation_status, c.generation_status)
    flags = [flag for flag, on in (("seed example", c.is_seed_example), ("human reviewed", c.human_reviewed)) if on]
    if flags:
        status += f" · {', '.join(flags)}"
    if c.reviewed_by:
        status += f" · last decision by {c.reviewed_by}" + (f" on {_when(c.review_date)}" if c.review_date else "")
    arc = _arc(c)
    if arc and c.emotional_arc_description:
        arc += f"\n{c.emotional_arc_description}"
    size = f"{c.turn_count} turn{'' if c.turn_count == 1 else 's'}"
    if c.turn_count_target:
        size += f" of {c.turn_count_target} planned"
    if c.total_sentences:
        size += f" · {c.total_sentences} sentences"
    if c.total_word_count:
        size += f" · {c.total_word_count} words"
    rows = [
        ("Persona", persona),
        ("Topic", topic),
        ("Tier", TIER_LABELS.get(c.tier, c.tier)),
        ("Template", template),
        ("Status", status),
        ("Quality score", _score(c.quality_score)),
        ("Emotional arc", arc),
        ("Session context", c.session_context),
        ("Phase", _words(c.conversation_phase) if c.conversation_phase else None),
        ("Expected outcome", c.expected_outcome),
        ("Size", size),
        ("Generation", _generation(c)),
        ("Reviewer notes", c.reviewer_notes),
    ]
    return [(label, text) for label, text in rows if text]


def _title_page(pdf: ConversationReport) -> None:
    c = pdf.detail
    pdf.heading(f"Conversation #{c.conversation_number} · {c.conversation_id}", level=0)
    pdf.paragraph(c.topic_category, size=11, color=MUTED)
    pdf.ln(3)
    label_style = FontFace(family=FAMILY, emphasis="BOLD", size_pt=BODY_SIZE, color=MUTED)
    pdf.set_draw_color(*RULE)
    with pdf.table(
        col_widths=(32, pdf.epw - 32),
        width=pdf.epw,
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        text_align="LEFT",
        v_align="TOP",
        line_height=LINE,
        padding=Padding(top=1.4, right=1.5, bottom=1.4, left=1.5),
    ) as table:
        for label, text in _metadata_rows(c):
            row = table.row()
            row.cell(label, style=label_style)
            row.cell(pdf.clean(text))


def _emotional_context(pdf: ConversationReport, turn: TurnRead) -> None:
    ec = turn.emotional_context
    pdf.heading("Emotional context", level=2)
    if ec is None:
        pdf.paragraph("No emotional context recorded for this turn.", color=MUTED)
        return
    # A lean pair of the user's later layouts may name its emotion and nothing else: absent values are left out.
    primary = _words(ec.primary_emotion)
    if ec.primary_confidence is not None:
        primary += f" (confidence {ec.primary_confidence:.2f})"
    if ec.intensity is not None:
        primary += f" · intensity {ec.intensity:.2f}"
        if ec.intensity_change is not None:
            primary += f" ({ec.intensity_change:+.2f})"
    if ec.valence is not None:
        valence = ec.valence + (f" ({ec.valence_original})" if ec.valence_original != ec.valence else "")
        primary += f" · valence {_words(valence)}"
    pdf.field("Primary emotion", primary)
    others = [
        f"{_words(name)}{f' ({confidence:.2f})' if confidence is not None else ''}"
        for name, confidence in (
            (ec.secondary_emotion, ec.secondary_confidence),
            (ec.tertiary_emotion, ec.tertiary_confidence),
        )
        if name
    ]
    pdf.field("Secondary emotions", ", ".join(others))
    if ec.previous_turn_emotion or ec.current_turn_emotion:
        progression = f"{ec.previous_turn_emotion or '?'} → {ec.current_turn_emotion or '?'}"
        if ec.progression_description:
            progression += f": {ec.progression_description}"
        pdf.field("Progression", progression)
    for label, level in (
        ("Risk", ec.risk_level),
        ("Engagement readiness", ec.engagement_readiness),
        ("Knowledge", ec.knowledge_level),
        ("Trust", ec.trust_level),
    ):
        pdf.field(label, _words(level) if level else None)
    # The four levels above are columns of their own; the assessment may hold more (a decision readiness).
    assessment = {k: v for k, v in (ec.behavioral_assessment or {}).items() if k not in BEHAVIOUR_COLUMNS}
    for key, assessed in _in_reading_order(assessment):
        pdf.field(_label(key), _readable(assessed) if isinstance(assessed, str) else _compact(assessed))
    if ec.emotional_indicators:
        pdf.runs([("Indicators:", True)])
        for category, phrases in ec.emotional_indicators.items():
            quoted = ", ".join(f"“{p}”" for p in (phrases if isinstance(phrases, list) else [phrases]))
            pdf.bullet([(f"{_label(category)}: ", True), (quoted, False)])
    if ec.client_needs:
        pdf.runs([("Client needs:", True)])
        needs = sorted(ec.client_needs, key=lambda n: n.get("priority", 99) if isinstance(n, dict) else 99)
        for need in needs:
            pdf.item(need)
    if ec.red_flags:
        pdf.runs([("Red flags:", True)])
        for flag in ec.red_flags:
            pdf.item(flag)


def _response_strategy(pdf: ConversationReport, turn: TurnRead) -> None:
    rs = turn.response_strategy
    pdf.heading("Response strategy", level=2)
    if rs is None:
        pdf.paragraph("No response strategy recorded for this turn.", color=MUTED)
        return
    pdf.runs([("Primary strategy: ", True), (_words(rs.primary_strategy), True), (f" — {rs.primary_rationale}", False)])
    if rs.secondary_strategies:
        pdf.field("Secondary", ", ".join(_words(str(s)) for s in rs.secondary_strategies))
    pdf.field("Tone", _words(rs.tone_selection) + (f" — {rs.tone_rationale}" if rs.tone_rationale else ""))
    pacing = _words(rs.pacing) + (f" ({_words(rs.pacing_original)})" if rs.pacing_original != rs.pacing else "")
    pdf.field("Pacing", pacing)
    if rs.specific_techniques:
        pdf.runs([("Techniques:", True)])
        for technique in rs.specific_techniques:
            pdf.item(technique)
    if rs.tactical_choices:
        pdf.runs([("Tactical choices:", True)])
        for key, chosen in rs.tactical_choices.items():
            if isinstance(chosen, bool):
                pdf.bullet([(_words(key), False)], mark="✓" if chosen else "✗")
            else:
                pdf.bullet([(f"{_label(key)}: ", True), (_compact(chosen), False)])
    if rs.avoid_tactics:
        pdf.runs([("Avoid:", True)])
        for tactic in rs.avoid_tactics:
            pdf.item(tactic)


def _sentence(pdf: ConversationReport, sentence: SentenceRead) -> None:
    pdf.room_for(LINE * 4)
    pdf.runs([(f"{sentence.sentence_number}. ", True), (sentence.sentence_text, False)])
    with pdf.indented():
        for label, text in (
            ("Function", sentence.function),
            ("Emotional purpose", sentence.emotional_purpose),
            ("Technique", sentence.technique),
            ("Teaches the model", sentence.teaches_model),
            ("Psychological principle", sentence.psychological_principle),
            ("Style", sentence.stylistic_note),
        ):
            pdf.field(label, _readable(text) if text else None, size=SMALL_SIZE)
        if sentence.word_choice_rationale:
            pdf.runs([("Word choices:", True)], size=SMALL_SIZE)
            for phrase, why in _in_sentence_order(sentence.word_choice_rationale, sentence.sentence_text):
                reason = why if isinstance(why, str) else _scalar(why) if _is_scalar(why) else str(why)
                pdf.bullet([(f"“{phrase}”", True), (f" — {reason}", False)], size=SMALL_SIZE)
    pdf.ln(1.5)


def _training_notes(pdf: ConversationReport, turn: TurnRead) -> None:
    rows = [
        ("Difficulty", _words(turn.difficulty_level) if turn.difficulty_level else None),
        ("Learning objective", _words(turn.key_learning_objective) if turn.key_learning_objective else None),
        ("Skills", ", ".join(_words(str(s)) for s in turn.demonstrates_skills or [])),
        ("Progression target", turn.emotional_progression_target),
        ("Expected positive signals", "; ".join(map(str, turn.positive_indicators or []))),
        ("Expected neutral signals", "; ".join(map(str, turn.neutral_indicators or []))),
        ("Expected negative signals", "; ".join(map(str, turn.negative_indicators or []))),
    ]
    shown = [(label, text) for label, text in rows if text]
    if not shown:
        return
    pdf.heading("Training notes", level=2)
    for label, text in shown:
        pdf.field(label, text)


def _turn(pdf: ConversationReport, turn: TurnRead) -> None:
    intent = f" · {_words(turn.user_intent)}" if turn.user_intent else ""
    pdf.heading(f"Turn {turn.turn_number}{intent}")
    pdf.runs([("Client", True)], color=MUTED)
    pdf.paragraph(turn.user_input, fill=CLIENT_FILL)
    pdf.ln(2)
    pdf.runs([("Elena", True)], color=MUTED)
    pdf.paragraph(turn.target_response, fill=ELENA_FILL)
    counts = f"{turn.target_response_word_count or '?'} words · {len(turn.sentences)} sentences analysed"
    if turn.response_structure_type:
        counts += f" · {turn.response_structure_type}"
    pdf.paragraph(counts, size=SMALL_SIZE, color=MUTED)
    _emotional_context(pdf, turn)
    _response_strategy(pdf, turn)
    pdf.heading("Sentence breakdown", level=2)
    if not turn.sentences:
        pdf.paragraph("No sentence breakdown for this turn.", color=MUTED)
    for sentence in turn.sentences:
        _sentence(pdf, sentence)
    _training_notes(pdf, turn)


def _quality(pdf: ConversationReport) -> None:
    c, qm = pdf.detail, pdf.detail.quality_metrics
    pdf.heading("Quality metrics")

    def pick(metric: float | None, own: float | None) -> float | None:
        return metric if metric is not None else own

    scores = [
        ("Overall", pick(qm.overall_quality_score if qm else None, c.quality_score)),
        ("Empathy", pick(qm.empathy_score if qm else None, c.empathy_score)),
        ("Clarity", pick(qm.clarity_score if qm else None, c.clarity_score)),
        ("Appropriateness", pick(qm.appropriateness_score if qm else None, c.appropriateness_score)),
        ("Brand voice", pick(qm.brand_voice_alignment if qm else None, c.brand_voice_score)),
        ("Domain", c.domain_specific_score),
    ]
    for label, score in scores:
        pdf.field(label, _score(score))
    if qm is None:
        pdf.paragraph("No computed quality metrics yet: the scores above are the conversation's own.", color=MUTED)
        return
    pdf.heading("Completeness", level=2)
    for label, done in (
        ("Complete emotional context", qm.has_complete_emotional_context),
        ("Emotional progression tracked", qm.has_emotional_progression),
        ("Primary strategy", qm.has_primary_strategy),
        ("Strategy rationale", qm.has_strategy_rationale),
        ("All required fields", qm.all_required_fields_complete),
        ("Ready for training", qm.ready_for_training),
    ):
        pdf.bullet([(label, False)], mark="✓" if done else "✗")
    pdf.ln(1)
    pdf.field("Needs review", _scalar(qm.needs_review))
    pdf.field("Approved by a reviewer", _scalar(qm.reviewer_approved))
    if qm.computed_score is not None:
        pdf.field("Checks passed", f"{qm.computed_score * 100:.0f}%")
    words = f"{qm.total_turns} turns · {qm.total_sentences} sentences · {qm.total_word_count} words"
    if qm.average_words_per_sentence is not None:
        words += f" · {qm.average_words_per_sentence:.1f} words per sentence"
    pdf.field("Size", words)
    if qm.emotional_indicator_count is not None:
        pdf.field("Emotional indicators", str(qm.emotional_indicator_count))
    if qm.technique_count is not None:
        pdf.field("Techniques", str(qm.technique_count))
    if qm.sentences_analyzed is not None:
        rationale = f"{qm.sentences_with_word_rationale or 0} of {qm.sentences_analyzed} sentences"
        if qm.word_choice_rationale_completeness is not None:
            rationale += f" ({qm.word_choice_rationale_completeness * 100:.0f}%)"
        pdf.field("Word-choice rationales", rationale)
    if qm.issues:
        pdf.runs([("Issues:", True)])
        for issue in qm.issues:
            pdf.item(issue)


def conversation_report_pdf(detail: ConversationDetail) -> bytes:
    """The PDF report of one conversation, as the bytes of the file."""
    pdf = ConversationReport(detail)
    pdf.add_page()
    _title_page(pdf)
    for turn in sorted(detail.turns, key=lambda t: t.turn_number):
        _turn(pdf, turn)
    _quality(pdf)
    return bytes(pdf.output())
