"""What the checks read in a reply: its sentences, and the small lexicons the voice checks test against.

Sentences are split from the text itself (``target_response``), never taken from the breakdown the
document declares: the checks compute, they do not trust. A sentence ends at ``.``, ``!`` or ``?`` (plus
any closing quote or bracket) followed by white space and a capital, a digit or ``$``; a line break always
ends one; common abbreviations (``e.g.``, ``Dr.``, ...) do not.

Every lexicon is a named constant, so a reviewer who finds a missing word adds it in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "u.s.", "no.", "approx.", "inc."}
)
# A sentence ends after terminal punctuation (and closing quotes) before a capital, or at a line break. One
# character class first, so that ``re`` can skip ahead quickly (an alternation at the top is twice as slow).
_BOUNDARY = re.compile(r"[.!?\n](?:(?<=\n)|[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9$£€]))")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a reply: its 1-based number and where it sits in the reply's text."""

    number: int
    start: int
    end: int
    text: str


_LONGEST_ABBREVIATION = max(len(abbreviation) for abbreviation in ABBREVIATIONS)


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their character offsets (see the module docstring for the rules)."""
    sentences: list[Sentence] = []
    start = 0
    # One loop without helper calls: this runs for every reply of every conversation saved.
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        at = match.start()
        if text[at] == ".":  # "e.g." and "Dr." end no sentence
            word_start = max(text.rfind(" ", start, at), text.rfind("\n", start, at)) + 1
            if end - word_start <= _LONGEST_ABBREVIATION and text[word_start:end].lower() in ABBREVIATIONS:
                continue
        raw = text[start:end]
        stripped = raw.strip()
        if stripped:
            offset = start + len(raw) - len(raw.lstrip())
            sentences.append(Sentence(len(sentences) + 1, offset, offset + len(stripped), stripped))
        start = end
    raw = text[start:]
    stripped = raw.strip()
    if stripped:
        offset = start + len(raw) - len(raw.lstrip())
        sentences.append(Sentence(len(sentences) + 1, offset, offset + len(stripped), stripped))
    return sentences


def normalise_spaces(text: str) -> str:
    return " ".join(text.split())


def is_plain(text: str) -> bool:
    """Single-spaced, without line breaks or tabs, and stripped: normalising its spaces changes nothing."""
    return "  " not in text and "\n" not in text and "\t" not in text and text == text.strip()


def word_count(text: str) -> int:
    """Whitespace-separated words (counting spaces when the text is plainly spaced: several times faster)."""
    if not is_plain(text):
        return len(text.split())
    return text.count(" ") + 1 if text else 0


class Lexicon:
    """A pattern matched ignoring case, written in lower case (``words``: whole words or phrases).

    The text is lower-cased and searched with a case-sensitive pattern: several times faster in Python's
    ``re`` than ``IGNORECASE`` over a long alternation. (A text whose lower case changes length, rare, is
    searched with ``IGNORECASE`` so that offsets stay exact.) A match's text is therefore lower case.
    """

    def __init__(self, words: tuple[str, ...] = (), *, source: str | None = None) -> None:
        pattern = source if source is not None else r"\b(?:" + "|".join(words) + r")\b"
        self._lower = re.compile(pattern)
        self._any_case = re.compile(pattern, re.IGNORECASE)

    def search(self, text: str, lower: str | None = None) -> re.Match[str] | None:
        """The first match in ``text``; ``lower`` is ``text.lower()`` when the caller has it already."""
        lower = text.lower() if lower is None else lower
        if len(lower) == len(text):
            return self._lower.search(lower)
        return self._any_case.search(text)

    def match(self, text: str, lower: str | None = None) -> re.Match[str] | None:
        lower = text.lower() if lower is None else lower
        if len(lower) == len(text):
            return self._lower.match(lower)
        return self._any_case.match(text)


# --------------------------------------------------------------------------------------------------
# Feelings before facts
# --------------------------------------------------------------------------------------------------

# Emotion words (stems end in \w*) and the phrases a consultant uses to acknowledge a feeling.
FEELING_WORDS: tuple[str, ...] = (
    r"anxi\w*", r"worr\w*", r"fears?", r"fearful", r"afraid", r"scared", r"frighten\w*", r"panic\w*", r"dread\w*",
    r"shame", r"ashamed", r"embarrass\w*", r"guilt\w*", r"overwhelm\w*", r"stress\w*", r"confus\w*",
    r"frustrat\w*", r"anger", r"angry", r"upset", r"sad", r"sadness", r"grief", r"griev\w*", r"hurt\w*",
    r"lonel\w*", r"relie[fv]\w*", r"hope\w*", r"hoping", r"proud", r"pride", r"confiden\w*", r"determin\w*",
    r"excit\w*", r"joy\w*", r"happ(?:y|iness)", r"glad", r"calm\w*", r"uneas\w*", r"uncertain\w*", r"nervous\w*",
    r"tension", r"tense", r"exhaust\w*", r"courage\w*", r"brave\w*", r"vulnerab\w*", r"heav(?:y|iness)",
    r"pain\w*", r"love", r"tender\w*", r"moved", r"emotion\w*", r"feel", r"feels", r"feeling", r"feelings",
    r"felt", r"disappoint\w*", r"regret\w*", r"resent\w*", r"jealous\w*", r"envy", r"insecur\w*", r"doubt\w*",
    r"helpless\w*", r"hopeless\w*", r"numb", r"paraly\w*", r"sorrow\w*", r"loss of", r"heartbreak\w*",
    r"i can hear", r"i hear", r"it sounds like", r"sounds like", r"i can sense", r"i can tell", r"i notice",
    r"that makes (?:complete |total )?sense", r"understandabl\w*", r"thank you for (?:sharing|trusting|telling)",
    r"i'?m (?:so )?sorry", r"i am (?:so )?sorry",
)  # fmt: skip
FEELING = Lexicon(FEELING_WORDS)

# Words that make a sentence about money; together with any figure they are the "facts" of the check.
FINANCIAL_WORDS: tuple[str, ...] = (
    r"money", r"dollars?", r"cash", r"budget\w*", r"debts?", r"loans?", r"mortgages?", r"tax\w*", r"interest",
    r"rates?", r"savings?", r"invest\w*", r"stocks?", r"bonds?", r"401\(k\)", r"403\(b\)", r"iras?", r"roth",
    r"pensions?", r"retire\w*", r"income", r"salar(?:y|ies)", r"paychecks?", r"wages?", r"bonus(?:es)?",
    r"credit", r"balances?", r"payments?", r"accounts?", r"funds?", r"portfolios?", r"equity", r"rsus?",
    r"vest\w*", r"brackets?", r"withholding", r"insurance", r"premiums?", r"spending", r"expenses?", r"bills?",
    r"costs?", r"prices?", r"afford\w*", r"financ\w*", r"banks?", r"banking", r"net worth", r"inheritance",
    r"estate", r"assets?", r"annuit(?:y|ies)",
)  # fmt: skip
FINANCIAL = Lexicon(FINANCIAL_WORDS)
FIGURE = re.compile(r"\d")

# --------------------------------------------------------------------------------------------------
# Check-in
# --------------------------------------------------------------------------------------------------

CHECK_IN_PHRASES = re.compile(r"\b(?:let me know|tell me (?:how|what|whether|if))\b", re.IGNORECASE)

# --------------------------------------------------------------------------------------------------
# Jargon
# --------------------------------------------------------------------------------------------------

# Terms a worried client should not have to look up: (how an issue names it, pattern, case-sensitive,
# triggers). Acronyms match case-sensitively so that "apr" inside a word never counts; the others are matched
# in the lower-cased text. A term's pattern runs only when one of its triggers (plain substrings) is present:
# one alternation of every term, run over every reply, cost more than all the other checks together.
GLOSSARY: tuple[tuple[str, str, bool, tuple[str, ...]], ...] = (
    ("amortization", r"amorti[sz]\w*", False, ("amorti",)),
    ("basis points", r"basis points?|bps", False, ("basis point", "bps")),
    ("RMD", r"RMDs?", True, ("RMD",)),
    ("required minimum distribution", r"required minimum distributions?", False, ("minimum distribution",)),
    ("vesting cliff", r"vesting cliffs?|cliff vesting", False, ("cliff",)),
    ("asset allocation", r"asset allocations?", False, ("allocation",)),
    ("expense ratio", r"expense ratios?", False, ("expense ratio",)),
    ("RSU", r"RSUs?", True, ("RSU",)),
    ("restricted stock unit", r"restricted stock units?", False, ("restricted stock",)),
    ("withholding", r"withholding", False, ("withholding",)),
    ("tax bracket", r"tax brackets?|marginal (?:tax )?rates?", False, ("bracket", "marginal")),
    ("W-4", r"W-4s?", True, ("W-4",)),
    ("concentration risk", r"concentration risk", False, ("concentration",)),
    ("withdrawal rate", r"withdrawal rates?", False, ("withdrawal rate",)),
    ("balance transfer", r"balance transfers?", False, ("balance transfer",)),
    ("APR", r"APRs?", True, ("APR",)),
    ("capital gains", r"capital gains?", False, ("capital gain",)),
    ("cost basis", r"cost basis", False, ("cost basis",)),
    ("Roth conversion", r"roth conversions?", False, ("roth conversion",)),
    ("sequence-of-returns risk", r"sequence[- ]of[- ]returns?(?: risk)?", False, ("sequence",)),
    ("dollar-cost averaging", r"dollar[- ]cost averaging", False, ("cost averaging",)),
    ("rebalancing", r"rebalanc\w*", False, ("rebalanc",)),
    ("index fund", r"index funds?", False, ("index fund",)),
    ("annuity", r"annuit(?:y|ies)", False, ("annuit",)),
    ("escrow", r"escrow\w*", False, ("escrow",)),
    ("debt-to-income ratio", r"debt[- ]to[- ]income(?: ratio)?", False, ("income",)),
    ("credit utilization", r"credit utili[sz]ation", False, ("utili",)),
    ("liquidity", r"liquidity", False, ("liquidity",)),
    ("ESPP", r"ESPPs?", True, ("ESPP",)),
    ("AMT", r"AMT", True, ("AMT",)),
)
# No boundary test in front of a pattern: it would stop ``re`` from scanning for the literal start (30x slower);
# the left boundary is tested in Python instead.
_GLOSSARY_COMPILED = tuple(
    (label, re.compile(r"(?:" + pattern + r")(?![\w-])"), exact, trigger) for label, pattern, exact, trigger in GLOSSARY
)


def _starts_word(text: str, start: int) -> bool:
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-")


# Every trigger with its term, flat: one comprehension tests them all (a loop per term costs twice as much).
_TRIGGERS = tuple(
    (trigger, index, case_sensitive)
    for index, (_, _, case_sensitive, triggers) in enumerate(GLOSSARY)
    for trigger in triggers
)


def glossary_terms(text: str, lower: str | None = None) -> list[tuple[str, int, int]]:
    """Every glossary term in ``text`` as ``(label, start, end)``, in text order (``lower``: ``text.lower()``
    when the caller has it already)."""
    lower = text.lower() if lower is None else lower
    found: list[tuple[str, int, int]] = []
    if len(lower) != len(text):  # the odd character whose lower case is longer: match slowly, offsets exact
        for label, pattern, _, _ in _GLOSSARY_COMPILED:
            for match in re.finditer(pattern.pattern, text, re.IGNORECASE):
                if _starts_word(text, match.start()):
                    found.append((label, match.start(), match.end()))
        return sorted(found, key=lambda item: item[1])
    present = {index for trigger, index, exact in _TRIGGERS if trigger in (text if exact else lower)}
    for index in sorted(present):
        label, pattern, case_sensitive, _ = _GLOSSARY_COMPILED[index]
        haystack = text if case_sensitive else lower
        for match in pattern.finditer(haystack):
            if _starts_word(haystack, match.start()):
                found.append((label, match.start(), match.end()))
    found.sort(key=lambda item: item[1])
    return found


# An explanation of a term: after it in the same sentence (a parenthesis or dash right after it, an
# appositive ", the ...", or a defining phrase), or anywhere in the next sentence.
# Markdown emphasis around a term ("**RSUs** (company shares ...)") does not hide its explanation.
EXPLAINED_RIGHT_AFTER = re.compile(r"^[*_]*\s*(?:\(|[—–:]|-\s|,\s+(?:the|a|an|which|meaning|or|also called)\b)", re.I)
EXPLANATION = re.compile(
    r"\b(?:which (?:simply |just |basically )?means|meaning|means|that is,|i\.e\.|in other words|refers to|"
    r"stands for|is (?:the|a|an|what|how|when|where)|are (?:the|a|an|what|how|when)|simply put|put simply|"
    r"basically|known as|called)\b",
    re.IGNORECASE,
)
# Also a term that opens a parenthesis: it spells out the term before it ("RSUs (restricted stock units)").
EXPLAINED_BEFORE = re.compile(
    r"(?:\b(?:called|known as|what's known as|what is known as|so-called)\s+(?:(?:the|an?)\s+)?|\(\s*)[*_]*$", re.I
)
# The next sentence explains only when it plainly continues about the term ("This is the fee ...", "In other
# words, ..."): any defining phrase anywhere in it would count the next topic's explanation for this one.
NEXT_SENTENCE_EXPLAINS = re.compile(
    r"^(?:(?:it|this|that|these|they|those|which)(?:'s|’s|\s+(?:is|are|means|refers))\b|in other words\b|"
    r"that is,|put simply\b|simply put\b|meaning\b)",
    re.I,
)

# --------------------------------------------------------------------------------------------------
# Teaching and permission
# --------------------------------------------------------------------------------------------------

# A sentence that opens a lesson by defining something: "Interest is the fee ...", "A balance transfer
# means moving ...", "Withholding is the tax ...". The subject is at most four words and is not a pronoun.
LESSON_DEFINITION = re.compile(
    r"^(?:(?:a|an|the)\s+)?"
    r"(?!(?:that|this|it|there|what|which|here|who|i|you|we|they|he|she|none|each|one|so|and|but|if)\b)"
    r"[a-z][\w'’()-]*(?:\s+[a-z][\w'’()-]*){0,3}\s+"
    r"(?:(?:is|are)\s+(?:the|a|an|when|how|what|simply|basically)\b|means\b)",
    re.IGNORECASE,
)
# Phrases that announce a lesson anywhere in a sentence; searched only in sentences holding one of the
# cheap substrings below (the alternation is slow to run over every sentence).
LESSON_OPENER_HINTS = ("here", "let me", "walk", "explain", "show you", "break", "works")
LESSON_OPENER = Lexicon(
    source=r"\b(?:here(?:'s|’s| is) how|let me (?:explain|walk you through|show you how)|"
    r"i(?:'ll|’ll| will|'d like to|’d like to| would like to| can) "
    r"(?:walk|explain|show you how|break (?:it|this|that) down)|"
    r"walk (?:you )?through (?:how|why|what)|how (?:it|this|that) works|the way (?:it|this|that) works)\b"
)
PERMISSION = Lexicon(
    source=r"\b(?:if you(?:'re|’re| are) open to (?:it|that|this)|would (?:it|that) be (?:ok|okay|alright|all right)|"
    r"is it (?:ok|okay|alright) (?:if|to)|with your permission|may i|can i (?:walk|show|explain|share|take)|"
    r"would you like (?:me )?to|would you be open to|are you open to|if you(?:'d|’d| would) like|"
    r"if (?:it|that) sounds (?:right|good|okay|ok)|if you(?:'re|’re| are) up for it|do you want me to|shall i|"
    r"would it help (?:if|to)|like me to (?:explain|walk|go|show|break)|since you(?:'ve|’ve| have)? asked|"
    r"as you asked|you asked me to)\b"
)
