"""Checks on a generated conversation beyond its JSON shape; each problem says where and how to fix it.

:func:`validate_reply` runs, in order:

* the reply itself: cut off at ``max_tokens``; no JSON object at all;
* the document model (:class:`ConversationBlock`): every pydantic error, with its JSON path;
* the conversation: turn numbering, duplicate ids, ``conversation_turn`` (``validate_conversation_turns``),
  the plan row's conversation id on every pair, pair ids ``<conversation_id>_turn<n>``, and a turn count
  within the plan row's target +/- :data:`TURN_COUNT_TOLERANCE`;
* every turn: ``target_response`` and ``current_user_input`` end with a finished sentence and not in a
  dangling escape; the reply's length is within :data:`MIN_RESPONSE_WORDS`-:data:`MAX_RESPONSE_WORDS`;
  ``conversation_history`` holds one user and one assistant entry per earlier turn, alternating; the
  sentence breakdown reproduces the reply exactly (modulo whitespace) and counts its sentences.

When the document model rejects the reply, the per-turn checks still run on every pair that validates on
its own, so one repair round trip can fix everything at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..conversations.document import (
    ConversationBlock,
    Severity,
    TrainingPair,
    document_errors,
    validate_conversation_turns,
)
from ..llm.base import ProviderReply
from ..plan.service import PlanRow

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
    words = len(pair.target_response.split())
    if MIN_RESPONSE_WORDS <= words <= MAX_RESPONSE_WORDS:
        return []
    direction = "short" if words < MIN_RESPONSE_WORDS else "long"
    return [
        Problem(
            f"response_too_{direction}",
            f"{path}.target_response",
            f"has {words} words; a reply must have {MIN_RESPONSE_WORDS}-{MAX_RESPONSE_WORDS} words (aim for 150-280)",
        )
    ]


def check_history(pair: TrainingPair, path: str) -> list[Problem]:
    """Turn n carries 2(n-1) entries: user then assistant for each earlier turn, in order."""
    history = pair.conversation_history
    earlier = pair.turn_number - 1
    where = f"{path}.conversation_history"
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


def _normalised(text: str) -> str:
    return " ".join(text.split())


def check_breakdown(pair: TrainingPair, path: str) -> list[Problem]:
    breakdown = pair.response_breakdown
    where = f"{path}.response_breakdown"
    problems: list[Problem] = []
    if breakdown.total_sentences != len(breakdown.sentences):
        problems.append(
            Problem(
                "total_sentences",
                f"{where}.total_sentences",
                f"is {breakdown.total_sentences} but {len(breakdown.sentences)} sentences are analysed; analyse "
                "every sentence of target_response and count them",
            )
        )
    joined = _normalised(" ".join(sentence.text for sentence in breakdown.sentences))
    response = _normalised(pair.target_response)
    if joined != response:
        joined_words, response_words = joined.split(), response.split()
        index = next(
            (i for i, (a, b) in enumerate(zip(joined_words, response_words, strict=False)) if a != b),
            min(len(joined_words), len(response_words)),
        )
        found = " ".join(joined_words[index : index + 6]) or "(nothing)"
        expected = " ".join(response_words[index : index + 6]) or "(nothing)"
        problems.append(
            Problem(
                "breakdown_mismatch",
                f"{where}.sentences",
                f"the sentence texts joined do not reproduce target_response: at word {index + 1} the response "
                f"has {expected!r} but the breakdown has {found!r}; give one entry per sentence, each text copied "
                "exactly",
            )
        )
    return problems


def check_pair(pair: TrainingPair, path: str) -> list[Problem]:
    problems = check_text_ending(pair.current_user_input, f"{path}.current_user_input")
    problems += check_text_ending(pair.target_response, f"{path}.target_response")
    problems += check_response_length(pair, path)
    problems += check_history(pair, path)
    problems += check_breakdown(pair, path)
    return problems


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


def check_ids(block: ConversationBlock, plan_row: PlanRow) -> list[Problem]:
    wanted = plan_row.conversation_id
    problems: list[Problem] = []
    block_id = block.conversation_metadata.conversation_id
    if block_id is not None and block_id != wanted:
        problems.append(
            Problem(
                "conversation_id",
                "$.conversation_metadata.conversation_id",
                f"is {block_id!r} but must be {wanted!r}",
            )
        )
    declared = block.conversation_metadata.total_turns
    if declared is not None and declared != len(block.training_pairs):
        problems.append(
            Problem(
                "total_turns",
                "$.conversation_metadata.total_turns",
                f"is {declared} but there are {len(block.training_pairs)} training pairs; make them equal",
            )
        )
    for index, pair in enumerate(block.training_pairs):
        path = f"$.training_pairs[{index}]"
        if pair.conversation_id != wanted:
            problems.append(
                Problem(
                    "conversation_id", f"{path}.conversation_id", f"is {pair.conversation_id!r} but must be {wanted!r}"
                )
            )
        expected_id = f"{wanted}_turn{index + 1}"
        if pair.id != expected_id:
            problems.append(Problem("pair_id", f"{path}.id", f"is {pair.id!r} but must be {expected_id!r}"))
    turn_issues = validate_conversation_turns(block.training_pairs)
    problems += [
        Problem(issue.code, issue.path, issue.message)
        for issue in turn_issues
        if issue.severity is Severity.ERROR and issue.code != "conversation_id_mismatch"  # reported above
    ]
    return problems


def check_reply(reply: ProviderReply, plan_row: PlanRow) -> tuple[ConversationBlock | None, list[Problem]]:
    """The validated conversation (``None`` when there are problems) and every problem found."""
    problems = check_stop_reason(reply)
    if reply.data is None:
        problems.append(
            Problem("not_json", "$", f"{reply.parse_error or 'no JSON object'}; reply with one JSON object")
        )
        return None, problems
    try:
        block = ConversationBlock.model_validate(reply.data)
    except ValidationError as exc:
        problems += [Problem(f"schema:{error.type}", error.path, error.message) for error in document_errors(exc)]
        problems += _check_valid_pairs(reply.data, plan_row)
        return None, problems
    problems += check_turn_count(len(block.training_pairs), plan_row)
    problems += check_ids(block, plan_row)
    for index, pair in enumerate(block.training_pairs):
        problems += check_pair(pair, f"$.training_pairs[{index}]")
    return (None if problems else block), problems


def _check_valid_pairs(data: dict[str, Any], plan_row: PlanRow) -> list[Problem]:
    pairs = data.get("training_pairs")
    if not isinstance(pairs, list):
        return []
    problems = check_turn_count(len(pairs), plan_row) if pairs else []
    for index, raw in enumerate(pairs):
        try:
            pair = TrainingPair.model_validate(raw)
        except ValidationError:
            continue  # already reported with its path by the block's validation
        problems += check_pair(pair, f"$.training_pairs[{index}]")
    return problems


def validate_reply(reply: ProviderReply, plan_row: PlanRow) -> list[Problem]:
    """Every problem with ``reply`` as the conversation ``plan_row`` asked for; empty when it is usable."""
    return check_reply(reply, plan_row)[1]
