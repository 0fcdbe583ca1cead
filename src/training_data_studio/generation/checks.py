"""What makes a generated conversation unusable, what is only worth a look, and what was fixed locally.

:func:`check_reply` first fixes what the Studio can compute (:mod:`.normalise`: sentence counts, pair and
conversation ids, ``conversation_turn``, ``total_turns``, white space; scores clamped into range), then
sorts what is left in two kinds (a check that fails good content costs a repair round trip that resends
the whole prompt, so only what makes the training example wrong fails):

* **failures** (:class:`Problem`, a repair round trip, then a clean failure): the reply cut off at
  ``max_tokens``; no JSON object; what the document model rejects (a missing or empty reply or client
  message, a missing required block), with its JSON path; a turn count outside the plan row's target +/-
  :data:`TURN_COUNT_TOLERANCE`; turn numbers that cannot be put in order; a text that ends mid-sentence or
  in a dangling escape; a conversation history whose roles do not alternate; an analysed sentence that is
  not in the reply at all;
* **warnings** (kept with the conversation and shown in review, where they lower computed quality): a
  breakdown that analyses only some sentences (the user's own seeds analyse the key ones), a history given
  as per-turn summaries, a reply outside :data:`MIN_RESPONSE_WORDS`-:data:`MAX_RESPONSE_WORDS` words, a
  score clamped into its range (the original is kept on the normalisation).

When the document model rejects the reply, the per-turn checks still run on every pair that validates on
its own, so one repair round trip can fix everything at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..conversations.document import (
    ConversationBlock,
    Severity,
    TrainingPair,
    document_errors,
    generation_gaps,
    validate_conversation_turns,
)
from ..llm.base import ProviderReply
from ..plan.service import PlanRow
from ..quality.checks.text import split_sentences
from .normalise import Normalisation, normalise_conversation, normalise_turn, single_spaced

# A conversation one turn longer or shorter than planned still tells the planned story; the model is told
# the exact number, so a bigger miss means it ignored the brief.
TURN_COUNT_TOLERANCE = 1
# Sanity bounds on one consultant reply (the prompt asks for 150-280 words; our seeds run 208-254). Under
# 40 words a reply cannot name the feeling, teach and check in; over 400 it is a lecture or two replies.
MIN_RESPONSE_WORDS = 40
MAX_RESPONSE_WORDS = 400
# A repair prompt lists at most this many problems; past that the model needs the pattern, not the list.
MAX_PROBLEMS_IN_REPAIR = 25
# How much of a bad text a problem quotes.
QUOTE_CHARS = 40

TERMINAL_PUNCTUATION = ".?!…"
CLOSING_QUOTES = "\"'”’»"
# Closers that may follow the final punctuation, as in: (see the note above.)
_TRAILING_CLOSERS = ")]*_"
_DANGLING_ESCAPE = re.compile(r"(\\u[0-9A-Fa-f]{0,3}|\\x[0-9A-Fa-f]?|\\)$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a reply cannot be used: a stable ``code``, a JSON ``path`` and a fix-it ``message``."""

    code: str
    path: str
    message: str

    def render(self) -> str:
        return f"- {self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


def render_problems(problems: Sequence[Problem], *, limit: int = MAX_PROBLEMS_IN_REPAIR) -> str:
    """The problems as a short list for the repair prompt (and for people)."""
    lines = [problem.render() for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- ... and {len(problems) - limit} more problems of the same kinds")
    return "\n".join(lines)


def _tail(text: str) -> str:
    stripped = text.rstrip()
    return ("…" if len(stripped) > QUOTE_CHARS else "") + stripped[-QUOTE_CHARS:]


# --------------------------------------------------------------------------------------------------
# The reply
# --------------------------------------------------------------------------------------------------


def check_stop_reason(reply: ProviderReply) -> list[Problem]:
    if not reply.truncated:
        return []
    return [
        Problem(
            "truncated",
            "$",
            f"the reply was cut off at the output limit ({reply.usage.output_tokens} tokens) before the "
            "conversation was complete; write the complete conversation, keeping every annotation concise",
        )
    ]


# --------------------------------------------------------------------------------------------------
# Text of one turn
# --------------------------------------------------------------------------------------------------


def dangling_escape(text: str) -> str | None:
    """What dangles at the end of ``text`` (a backslash, ``\\u`` fragment, half a surrogate pair), or None."""
    stripped = text.rstrip()
    if not stripped:
        return None
    match = _DANGLING_ESCAPE.search(stripped)
    if match:
        return f"the escape fragment {match.group(0)!r}"
    last = ord(stripped[-1])
    if 0xD800 <= last <= 0xDFFF:
        return "half of an escaped character (a lone surrogate)"
    if stripped[-1] == "\ufffd":
        return "a replacement character (an undecodable byte)"
    return None


def ends_mid_sentence(text: str) -> bool:
    """True when ``text`` does not end with . ? ! … or a closing quote (closing brackets may follow)."""
    stripped = text.rstrip().rstrip(_TRAILING_CLOSERS)
    return not stripped or stripped[-1] not in TERMINAL_PUNCTUATION + CLOSING_QUOTES


def check_text_ending(text: str, path: str) -> list[Problem]:
    dangling = dangling_escape(text)
    if dangling is not None:
        return [
            Problem(
                "dangling_escape",
                path,
                f"ends in {dangling} ({_tail(text)!r}); the text was cut off, write it out in full",
            )
        ]
    if ends_mid_sentence(text):
        return [
            Problem(
                "ends_mid_sentence",
                path,
                f"ends mid-sentence ({_tail(text)!r}); finish the sentence and end it with . ? or !",
            )
        ]
    return []


def check_response_length(pair: TrainingPair, path: str) -> list[Problem]:
    """A warning: a reply of unusual length is still a reply (quality's word counts flag it in review)."""
    words = len(pair.reply.split())
    if MIN_RESPONSE_WORDS <= words <= MAX_RESPONSE_WORDS:
        return []
    direction = "short" if words < MIN_RESPONSE_WORDS else "long"
    return [
        Problem(
            f"response_too_{direction}",
            f"{path}.target_response",
            f"has {words} words; a reply should have {MIN_RESPONSE_WORDS}-{MAX_RESPONSE_WORDS} words (aim for 150-280)",
        )
    ]


def check_history(pair: TrainingPair, path: str) -> tuple[list[Problem], list[Problem]]:
    """(failures, warnings) of the history of turn n.

    Two forms are accepted, as in the user's seeds: the full form (2(n-1) entries, user then assistant for
    each earlier turn, in order) and, without roles, per-turn summaries that cover turns 1..n-1 in order
    (a warning: a fine-tuning export wants the messages themselves). Roles that do not alternate, entries
    out of order or a history on the first turn fail.
    """
    history = pair.conversation_history
    earlier = pair.turn_number - 1
    where = f"{path}.conversation_history"
    if any(entry.role is not None for entry in history):
        return _check_full_history(pair, where), []
    if earlier == 0 and history:
        return [Problem("history_length", where, f"has {len(history)} entries but turn 1 has no earlier messages")], []
    turns = [entry.turn for entry in history]
    if earlier and (turns != sorted(turns) or set(turns) != set(range(1, earlier + 1))):
        return [
            Problem(
                "history_turns",
                where,
                f"covers turns {sorted(set(turns))} but turn {pair.turn_number} needs every earlier turn "
                f"1..{earlier}, in order: one user and one assistant entry for each",
            )
        ], []
    if not history:
        return [], []
    return [], [
        Problem(
            "history_summarised",
            where,
            "summarises the earlier turns instead of repeating their messages with roles; the export rebuilds "
            "the messages from the earlier turns",
        )
    ]


def _check_full_history(pair: TrainingPair, where: str) -> list[Problem]:
    history = pair.conversation_history
    earlier = pair.turn_number - 1
    if len(history) != 2 * earlier:
        return [
            Problem(
                "history_length",
                where,
                f"has {len(history)} entries but turn {pair.turn_number} needs {2 * earlier}: one user and one "
                "assistant entry for each earlier turn",
            )
        ]
    for index, entry in enumerate(history):
        expected_role = "user" if index % 2 == 0 else "assistant"
        expected_turn = index // 2 + 1
        if entry.role != expected_role:
            return [
                Problem(
                    "history_roles",
                    f"{where}[{index}].role",
                    f"is {entry.role!r} but should be {expected_role!r}; roles alternate user, assistant, "
                    "starting with user",
                )
            ]
        if entry.turn != expected_turn:
            return [
                Problem(
                    "history_turns",
                    f"{where}[{index}].turn",
                    f"is {entry.turn} but should be {expected_turn}; entries 2k-1 and 2k belong to turn k",
                )
            ]
    return []


def check_breakdown(pair: TrainingPair, path: str) -> tuple[list[Problem], list[Problem]]:
    """(failures, warnings): an analysed sentence that is not in the reply fails (the annotation describes
    text the example does not contain); sentences of the reply left unanalysed are a warning (the user's
    seeds analyse the key sentences, not every one)."""
    where = f"{path}.response_breakdown.sentences"
    reply = single_spaced(pair.reply)
    failures: list[Problem] = []
    if pair.response_breakdown is None:
        return failures, []  # a missing block is a schema gap (generation_gaps)
    covered = [False] * len(reply)
    cursor = 0
    for index, sentence in enumerate(pair.response_breakdown.sentences):
        text = single_spaced(sentence.text)
        at = reply.find(text, cursor)
        if at < 0:
            at = reply.find(text)
        if at < 0:
            failures.append(
                Problem(
                    "breakdown_not_in_reply",
                    f"{where}[{index}].text",
                    f"{_head(text)!r} is not in target_response; copy each analysed sentence exactly from the reply",
                )
            )
            continue
        covered[at : at + len(text)] = [True] * len(text)
        cursor = at + len(text)
    missing = [
        s.number
        for s in split_sentences(reply)
        if any(not covered[i] and reply[i].isalnum() for i in range(s.start, s.end))
    ]
    if not missing or failures:
        return failures, []
    total = len(split_sentences(reply))
    return [], [
        Problem(
            "partial_breakdown",
            where,
            f"analyses {total - len(missing)} of the reply's {total} sentences (not {', '.join(map(str, missing))})",
        )
    ]


def _head(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"


def check_pair(pair: TrainingPair, path: str) -> tuple[list[Problem], list[Problem]]:
    """(failures, warnings) of one turn."""
    if not pair.has_reply:
        return [], []  # a missing reply is a schema gap (generation_gaps); the content checks need it
    failures = check_text_ending(pair.current_user_input, f"{path}.current_user_input")
    failures += check_text_ending(pair.reply, f"{path}.target_response")
    warnings = check_response_length(pair, path)
    history_failures, history_warnings = check_history(pair, path)
    breakdown_failures, breakdown_warnings = check_breakdown(pair, path)
    return failures + history_failures + breakdown_failures, warnings + history_warnings + breakdown_warnings


# --------------------------------------------------------------------------------------------------
# The conversation
# --------------------------------------------------------------------------------------------------


def check_turn_count(count: int, plan_row: PlanRow) -> list[Problem]:
    target = plan_row.turn_count_target
    if abs(count - target) <= TURN_COUNT_TOLERANCE:
        return []
    return [
        Problem(
            "turn_count",
            "$.training_pairs",
            f"has {count} turns but the plan asks for {target} (at most {TURN_COUNT_TOLERANCE} more or fewer); "
            f"write {target} turns",
        )
    ]


def check_ids(block: ConversationBlock) -> list[Problem]:
    """Turn order and unique ids (the ids themselves were normalised to the plan row's)."""
    turn_issues = validate_conversation_turns(block.training_pairs)
    return [Problem(issue.code, issue.path, issue.message) for issue in turn_issues if issue.severity is Severity.ERROR]


def clamp_warnings(changes: Sequence[Normalisation]) -> list[Problem]:
    return [
        Problem(
            "score_clamped",
            change.path,
            f"was {change.before}, outside its range; kept as {change.after} (the original is on the attempt)",
        )
        for change in changes
        if change.clamped
    ]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What the checks made of one reply: the usable conversation (``None`` when anything failed), the
    failures, the warnings and the values fixed locally."""

    conversation: ConversationBlock | None
    failures: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    normalisations: list[Normalisation] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.conversation is not None


def check_reply(reply: ProviderReply, plan_row: PlanRow) -> CheckReport:
    """Normalise ``reply`` as the conversation ``plan_row`` asked for, then judge it."""
    failures = check_stop_reason(reply)
    if reply.data is None:
        failures.append(
            Problem("not_json", "$", f"{reply.parse_error or 'no JSON object'}; reply with one JSON object")
        )
        return CheckReport(None, failures)
    data, changes = normalise_conversation(reply.data, plan_row.conversation_id)
    warnings = clamp_warnings(changes)
    # Imported files may be lean or hold half pairs; a generated conversation must be complete.
    failures += [Problem(f"schema:{error.type}", error.path, error.message) for error in generation_gaps(data)]
    try:
        block = ConversationBlock.model_validate(data)
    except ValidationError as exc:
        failures += [Problem(f"schema:{error.type}", error.path, error.message) for error in document_errors(exc)]
        pair_failures, pair_warnings = _check_valid_pairs(data, plan_row)
        return CheckReport(None, failures + pair_failures, warnings + pair_warnings, changes)
    failures += check_turn_count(len(block.training_pairs), plan_row)
    failures += check_ids(block)
    for index, pair in enumerate(block.training_pairs):
        pair_failures, pair_warnings = check_pair(pair, f"$.training_pairs[{index}]")
        failures += pair_failures
        warnings += pair_warnings
    return CheckReport(None if failures else block, failures, warnings, changes)


def _check_valid_pairs(data: dict[str, Any], plan_row: PlanRow) -> tuple[list[Problem], list[Problem]]:
    pairs = data.get("training_pairs")
    if not isinstance(pairs, list):
        return [], []
    failures = check_turn_count(len(pairs), plan_row) if pairs else []
    warnings: list[Problem] = []
    for index, raw in enumerate(pairs):
        try:
            pair = TrainingPair.model_validate(raw)
        except ValidationError:
            continue  # already reported with its path by the block's validation
        pair_failures, pair_warnings = check_pair(pair, f"$.training_pairs[{index}]")
        failures += pair_failures
        warnings += pair_warnings
    return failures, warnings


def validate_reply(reply: ProviderReply, plan_row: PlanRow) -> list[Problem]:
    """Every failure of ``reply`` as the conversation ``plan_row`` asked for; empty when it is usable."""
    return check_reply(reply, plan_row).failures


@dataclass(frozen=True, slots=True)
class TurnReport:
    """What the checks made of one turn written on its own (see :func:`check_turn`)."""

    pair: TrainingPair | None
    failures: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    normalisations: list[Normalisation] = field(default_factory=list)


def check_turn(
    reply: ProviderReply,
    conversation_id: str,
    turn_number: int,
    history: list[dict[str, Any]],
    *,
    client_message: str | None = None,
) -> TurnReport:
    """Normalise and judge one turn written by its own call. Its ids and number are the Studio's, and its
    ``conversation_history`` is rebuilt from the turns already accepted (``history``), so neither can fail.
    ``client_message``: the turn answers a message already stored, which is its client message whatever the
    model wrote there (a change recorded as a normalisation)."""
    failures = check_stop_reason(reply)
    if reply.data is None:
        failures.append(
            Problem("not_json", "$", f"{reply.parse_error or 'no JSON object'}; reply with one JSON object")
        )
        return TurnReport(None, failures)
    where = f"$.training_pairs[{turn_number - 1}]"  # paths as in the assembled conversation
    data, changes = normalise_turn(reply.data, conversation_id, turn_number, path=where)
    data["conversation_history"] = history
    if client_message is not None and data.get("current_user_input") != client_message:
        written = data.get("current_user_input")
        changes.append(Normalisation("given_client_message", f"{where}.current_user_input", written, client_message))
        data["current_user_input"] = client_message
    warnings = clamp_warnings(changes)
    failures += [
        Problem(f"schema:{error.type}", where + error.path.removeprefix("$.training_pairs[0]"), error.message)
        for error in generation_gaps({"training_pairs": [data]})
    ]
    try:
        pair = TrainingPair.model_validate(data)
    except ValidationError as exc:
        failures += [
            Problem(f"schema:{error.type}", where + error.path.removeprefix("$"), error.message)
            for error in document_errors(exc)
        ]
        return TurnReport(None, failures, warnings, changes)
    pair_failures, pair_warnings = check_pair(pair, where)
    failures += pair_failures
    warnings += pair_warnings
    return TurnReport(None if failures else pair, failures, warnings, changes)
