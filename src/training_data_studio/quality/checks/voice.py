"""Voice: the consultant's habits that a program can test (data/templates.json, "Patterns").

* **Feelings before facts.** The first sentence of every reply acknowledges a feeling (an emotion word or
  a phrase such as "I can hear", "it sounds like"; lexicon ``FEELING_WORDS``) before any figure or money
  term (``FINANCIAL_WORDS``).
* **Ends with a check-in.** The last sentence of every reply is a question (or says "let me know" /
  "tell me how").
* **No jargon without an explanation.** A glossary term (``GLOSSARY``) is explained where it is first
  used: in the same sentence (a parenthesis or dash right after it, an appositive ", the form that ...",
  "which means", "meaning", "X is the ...", "called X", a Markdown-emphasised term followed by one of
  these) or by the next sentence ("This is ...", "In other words ...", or the term used again with an
  explanation). A term opening a parenthesis spells out the one before it ("RSUs (restricted stock units)")
  and counts as explained. Once explained, later uses in the conversation need nothing more. Each
  unexplained term is reported once.
* **Concrete numbers.** A conversation about money (any money term in it) gives figures: at least one
  reply has a number, and every teaching turn has one. Tier 3 (edge cases: safety, legal and therapeutic
  boundaries) is exempt, since a crisis reply should not be about figures.
* **Permission before teaching.** Only teaching turns are checked. Heuristic: a turn teaches when its
  reply contains a lesson, either a sentence that opens by defining something ("Interest is the fee ...",
  "A balance transfer means ...": a subject of at most four words, not a pronoun, then "is/are the/a/an/
  how/what/when" or "means") or a phrase announcing one ("here's how", "let me explain", "I'll walk
  through", "how it works"). A gloss inside a sentence ("your RSUs (company shares ...)") is not a lesson:
  it is what the jargon rule asks for. The turn passes when a permission phrase ("would it be okay",
  "if you're open to it", "with your permission", "since you asked", ...) comes before the lesson in the
  same reply, or closes the previous reply (one of its last two sentences): the client then said yes.
  The annotations' own flags (strategy names, "demonstrates_skills") are not used: they are the claims
  these checks test.
"""

from __future__ import annotations

from .base import Check, ConversationView, Finding, Group, NotApplicable, TurnView, quoted
from .text import (
    CHECK_IN_PHRASES,
    EXPLAINED_BEFORE,
    EXPLAINED_RIGHT_AFTER,
    EXPLANATION,
    FEELING,
    FIGURE,
    FINANCIAL,
    NEXT_SENTENCE_EXPLAINS,
    PERMISSION,
    Sentence,
    glossary_terms,
)

EXEMPT_FROM_NUMBERS = frozenset({"tier3_edge"})
# The previous reply's closing sentences that may carry the permission a teaching turn relies on.
PERMISSION_CARRYOVER_SENTENCES = 2
_TRAILING = "\"”’')] "


def feelings_before_facts(view: ConversationView) -> list[Finding]:
    findings = []
    for turn in view.turns:
        if not turn.sentences:
            continue
        first, lower = turn.sentences[0].text, turn.sentence_lowers[0]
        feeling = FEELING.search(first, lower)
        facts = [m.start() for m in (FIGURE.search(first), FINANCIAL.search(first, lower)) if m is not None]
        fact = min(facts) if facts else None
        action = (
            f"Rewrite turn {turn.number}'s first sentence to name the client's feeling before any number or money term"
        )
        if feeling is None:
            findings.append(
                Finding(f"Turn {turn.number} opens without naming a feeling ({quoted(first)})", action, turn.number, 1)
            )
        elif fact is not None and fact < feeling.start():
            findings.append(
                Finding(
                    f"Turn {turn.number} puts facts before feelings ({quoted(first[fact:])} comes before "
                    f"“{feeling.group()}”)",
                    action,
                    turn.number,
                    1,
                )
            )
    return findings


def ends_with_check_in(view: ConversationView) -> list[Finding]:
    findings = []
    for turn in view.turns:
        if not turn.sentences:
            continue
        last = turn.sentences[-1]
        if last.text.rstrip(_TRAILING).endswith("?") or CHECK_IN_PHRASES.search(last.text):
            continue
        findings.append(
            Finding(
                f"Turn {turn.number} does not end with a check-in ({quoted(last.text)})",
                f"End turn {turn.number} with a question about how the client feels or what they think",
                turn.number,
                last.number,
            )
        )
    return findings


def _explained_here(turn: TurnView, sentence: Sentence, start: int, end: int) -> bool:
    after = turn.response[end : sentence.end]
    before = turn.response[sentence.start : start]
    return bool(EXPLAINED_RIGHT_AFTER.match(after) or EXPLANATION.search(after) or EXPLAINED_BEFORE.search(before))


def _is_explained(
    turn: TurnView, terms: list[tuple[str, int, int]], label: str, index: int, start: int, end: int
) -> bool:
    """Explained at this use, or by the next sentence: one that continues about it ("This is ...") or uses
    the term again with its explanation ("... RSUs. **RSUs (restricted stock units)** are ...")."""
    if _explained_here(turn, turn.sentences[index], start, end):
        return True
    if index + 1 >= len(turn.sentences):
        return False
    following = turn.sentences[index + 1]
    if NEXT_SENTENCE_EXPLAINS.match(following.text):
        return True
    return any(
        other == label
        and following.start <= other_start < following.end
        and _explained_here(turn, following, other_start, other_end)
        for other, other_start, other_end in terms
    )


def jargon_explained(view: ConversationView) -> list[Finding]:
    settled: set[str] = set()  # explained (or already reported) earlier in the conversation
    findings = []
    for turn in view.turns:
        terms = glossary_terms(turn.response, turn.lower)
        for label, start, end in terms:
            if label in settled:
                continue
            settled.add(label)
            sentence = turn.sentence_at(start)
            if sentence is None or _is_explained(turn, terms, label, sentence.number - 1, start, end):
                continue
            findings.append(
                Finding(
                    f"“{turn.response[start:end]}” in sentence {sentence.number} of turn {turn.number} "
                    "is not explained",
                    f"Explain “{label}” in plain words in the same or the next sentence (“…, which means …”)",
                    turn.number,
                    sentence.number,
                )
            )
    return findings


def _about_money(view: ConversationView) -> bool:
    """A dollar amount or a percentage anywhere, else any money word (the lexicon is the slow test)."""
    texts = [text for turn in view.turns for text in (turn.user_input, turn.response)]
    if any("$" in text or "%" in text for text in texts):
        return True
    return any(FINANCIAL.search(turn.user_input) or FINANCIAL.search(turn.response, turn.lower) for turn in view.turns)


def concrete_numbers(view: ConversationView) -> list[Finding] | NotApplicable:
    if view.tier in EXEMPT_FROM_NUMBERS:
        return NotApplicable("Tier 3 edge cases are exempt: safety and referral come before figures")
    if not _about_money(view):
        return NotApplicable("the conversation is not about money")
    with_figures = {turn.number for turn in view.turns if FIGURE.search(turn.response)}
    if not with_figures:
        return [
            Finding(
                "No concrete numbers in any reply of a money conversation",
                "Use the client's own figures (amounts, rates, dates) instead of vague words",
            )
        ]
    return [
        Finding(
            f"Turn {turn.number} teaches without a concrete number",
            f"Add the client's own figures (amounts, rates, dates) to turn {turn.number}'s explanation",
            turn.number,
        )
        for turn in view.turns
        if turn.lesson_offset is not None and turn.number not in with_figures
    ]


def _asked_at_close(turn: TurnView) -> bool:
    closing = slice(-PERMISSION_CARRYOVER_SENTENCES, None)
    return any(
        PERMISSION.search(sentence.text, lower)
        for sentence, lower in zip(turn.sentences[closing], turn.sentence_lowers[closing], strict=True)
    )


def permission_before_teaching(view: ConversationView) -> list[Finding] | NotApplicable:
    teaching = [(index, turn) for index, turn in enumerate(view.turns) if turn.lesson_offset is not None]
    if not teaching:
        return NotApplicable("no turn teaches")
    findings = []
    for index, turn in teaching:
        lesson = turn.lesson_offset
        assert lesson is not None
        if PERMISSION.search(turn.response[:lesson]) is not None:
            continue
        if index > 0 and _asked_at_close(view.turns[index - 1]):
            continue
        sentence = turn.sentence_at(lesson)
        where = f" ({quoted(sentence.text)})" if sentence else ""
        earlier = f", or offer it at the end of turn {turn.number - 1}" if index > 0 else ""
        findings.append(
            Finding(
                f"Turn {turn.number} starts teaching without asking permission{where}",
                f"Ask before teaching in turn {turn.number} (“Would it be okay if I walked you through …?”){earlier}",
                turn.number,
                sentence.number if sentence else None,
            )
        )
    return findings


CHECKS = (
    Check("feelings_before_facts", Group.VOICE, "Feelings before facts", feelings_before_facts),
    Check("ends_with_check_in", Group.VOICE, "Ends with a check-in", ends_with_check_in),
    Check("jargon_explained", Group.VOICE, "No jargon without explanation", jargon_explained),
    Check("concrete_numbers", Group.VOICE, "Concrete numbers", concrete_numbers),
    Check("permission_before_teaching", Group.VOICE, "Asks permission before teaching", permission_before_teaching),
)
