"""Read one seed file into validated conversations, or say precisely why not.

Steps: size check (before reading), read, decode UTF-8, parse JSON (or repair it with json-repair when
asked, describing each repaired spot), validate with the document model (errors carry JSON paths), group
the pairs into conversations and run the conversation-level checks (errors reject the file, warnings are
reported). Nothing here touches the database.

Layouts are detected from the content, never from a flag: a JSON object with ``training_pairs`` (one
conversation, the user's generator adds ``input_parameters``), with ``conversations`` under
``dataset_metadata`` or under a v4 ``training_file_metadata``, or JSON Lines: one training pair a line,
with an optional ``{"_meta": {...}}`` first line (a ``.jsonl`` name, or text holding several JSON values).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json_repair
from pydantic import ValidationError

from ..conversations.document import (
    ConversationDoc,
    SeedFile,
    Severity,
    document_errors,
    group_conversations,
    json_path,
    seed_file_issues,
)
from .schemas import Layout, Problem

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS_PER_FILE = 50
# How many separate syntax errors a repair report walks through before summarising the rest.
MAX_REPAIR_SPOTS = 20
_SNIPPET_CHARS = 60


@dataclass(frozen=True)
class SeedSource:
    """Something to import: a name for messages, its size when known up front, and how to read it."""

    name: str
    size: int | None
    read: Callable[[], bytes]

    @classmethod
    def from_path(cls, path: Path, *, name: str | None = None) -> SeedSource:
        return cls(name=name or str(path), size=path.stat().st_size, read=path.read_bytes)

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> SeedSource:
        return cls(name=name, size=len(data), read=lambda: data)


EXPECTED_SHAPES = (
    "{dataset_metadata, consultant_profile, training_pairs} (one conversation, optionally with "
    "input_parameters), {dataset_metadata, consultant_profile, conversations} (several), "
    "{training_file_metadata, consultant_profile, conversations} (a v4 training file), or JSON Lines with one "
    "training pair {id, conversation_id, turn_number, current_user_input, target_response, ...} a line and an "
    'optional {"_meta": {...}} first line'
)
META_KEY = "_meta"
# A line of JSON Lines holds one training pair; these keys tell a lone pair from a file of another shape.
_PAIR_KEYS = frozenset({"conversation_id", "current_user_input"})


@dataclass
class ParsedSeed:
    name: str
    seed_file: SeedFile | None = None
    docs: list[ConversationDoc] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    repaired: bool = False
    layout: Layout | None = None
    # JSON Lines: the line of each training pair, so that errors name the line.
    pair_lines: list[int] | None = None

    @property
    def pairs_merged(self) -> int:
        return sum(doc.pairs_merged for doc in self.docs)

    @property
    def ok(self) -> bool:
        return self.seed_file is not None and not self.errors

    def error(self, message: str, **where: Any) -> ParsedSeed:
        self.errors.append(Problem(file=self.name, message=message, **where))
        return self


class _SyntaxProblem(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _SyntaxProblem(f"{name} is not a JSON value; write a number or null")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def parse_source(source: SeedSource, *, repair: bool = False) -> ParsedSeed:
    """Read, decode, parse and validate one seed file."""
    parsed = ParsedSeed(name=source.name)
    limit_mb = MAX_FILE_BYTES // (1024 * 1024)
    if source.size is not None and source.size > MAX_FILE_BYTES:
        return parsed.error(
            f"file is {source.size / (1024 * 1024):.1f} MB; the limit is {limit_mb} MB: split it into smaller files",
            code="too_large",
        )
    try:
        raw = source.read()
    except OSError as exc:
        return parsed.error(f"cannot be read: {exc.strerror or exc}", code="unreadable")
    if len(raw) > MAX_FILE_BYTES:
        return parsed.error(f"file is larger than {limit_mb} MB: split it into smaller files", code="too_large")
    if not raw.strip():
        return parsed.error("file is empty: expected a JSON seed file", code="empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return parsed.error(
            f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} (line {line}) cannot be "
            "decoded; save the file as UTF-8",
            code="not_utf8",
            byte_offset=exc.start,
        )

    if _looks_like_json_lines(source.name, text):
        data = _parse_json_lines(parsed, text)
    else:
        data = _parse_json(parsed, text, repair=repair)
    if parsed.errors:
        return parsed
    _validate(parsed, data)
    return parsed


def _looks_like_json_lines(name: str, text: str) -> bool:
    """A ``.jsonl`` name, or text that holds one JSON value per line (``json`` stops at the second one)."""
    if name.lower().endswith(".jsonl"):
        return True
    try:
        _loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            return False
        first = text[: exc.pos].strip()
        return "\n" not in first.strip() and first.startswith("{")
    except (_SyntaxProblem, RecursionError):
        return False
    return False


def _parse_json_lines(parsed: ParsedSeed, text: str) -> Any:
    """``{"_meta": ..., "training_pairs": [...]}`` from JSON Lines, or None with one error per bad line."""
    parsed.layout = "jsonl"
    meta: Any = None
    pairs: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except json.JSONDecodeError as exc:
            parsed.error(
                f"is not valid JSON: {exc.msg} (at {_snippet(line, exc.pos)}); each line of a JSON Lines file holds "
                "one complete JSON object",
                code="json_syntax",
                line=number,
                column=exc.colno,
            )
        except _SyntaxProblem as exc:
            parsed.error(f"is not valid JSON: {exc}", code="json_syntax", line=number, column=1)
        else:
            if not pairs and meta is None and isinstance(value, dict) and set(value) == {META_KEY}:
                meta = value[META_KEY]
                continue
            if not isinstance(value, dict) or not _PAIR_KEYS & set(value):
                parsed.error(
                    f"is not a training pair: a JSON Lines file holds one pair a line (expected keys id, "
                    f"conversation_id, turn_number, current_user_input, target_response, ...; found "
                    f"{_keys_of(value)})",
                    code="wrong_shape",
                    line=number,
                    column=1,
                )
                continue
            pairs.append(value)
            lines.append(number)
        if len(parsed.errors) >= MAX_ERRORS_PER_FILE:
            parsed.error("... and possibly more errors after this line", code="truncated")
            break
    if parsed.errors:
        return None
    if not pairs:
        parsed.error("holds no training pair: expected one JSON object per line", code="empty")
        return None
    parsed.pair_lines = lines
    data: dict[str, Any] = {META_KEY: meta} if meta is not None else {}
    data["training_pairs"] = pairs
    return data


def _is_schema(value: Any) -> bool:
    return isinstance(value, dict) and "$schema" in value


def _keys_of(value: Any) -> str:
    if isinstance(value, dict):
        return "keys " + (", ".join(sorted(value)) if value else "none")
    return _describe_json_type(value)


def _describe_json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a " + type(value).__name__


def _parse_json(parsed: ParsedSeed, text: str, *, repair: bool) -> Any:
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        if not repair:
            parsed.error(
                f"is not valid JSON: {exc.msg} (at {_snippet(text, exc.pos)}); fix the file, or tick "
                '"Import with repair" and import it again',
                code="json_syntax",
                line=exc.lineno,
                column=exc.colno,
                json_path=json_path(path_at(text, exc.pos)),
            )
            return None
    except _SyntaxProblem as exc:
        parsed.error(f"is not valid JSON: {exc}", code="json_syntax")
        return None
    except RecursionError:
        parsed.error("is not usable JSON: nested too deeply", code="json_syntax")
        return None

    try:
        repaired = json_repair.loads(text)
    except Exception as exc:  # json-repair is best effort; any failure of it means "could not repair"
        parsed.error(
            f"is not valid JSON and json-repair could not repair it ({type(exc).__name__})", code="json_syntax"
        )
        return None
    if not isinstance(repaired, dict):
        first = _first_syntax_error(text)
        parsed.error(
            "is not valid JSON and json-repair could not recover a JSON object from it",
            code="json_syntax",
            line=first.lineno if first else None,
            column=first.colno if first else None,
        )
        return None
    parsed.repaired = True
    for note in describe_repairs(text, repaired):
        parsed.warnings.append(
            Problem(
                file=parsed.name,
                code="json_repaired",
                line=note.line,
                column=note.column,
                json_path=note.path,
                message=note.message,
            )
        )
    return repaired


def _validate(parsed: ParsedSeed, data: Any) -> None:
    if isinstance(data, dict) and _PAIR_KEYS <= set(data) and "training_pairs" not in data:
        data = {"training_pairs": [data]}  # one training pair: JSON Lines of a single line
        parsed.layout, parsed.pair_lines = "jsonl", [1]
    if not isinstance(data, dict) or ("training_pairs" not in data and "conversations" not in data):
        schema = " (it is a JSON Schema: it describes a layout, it holds no conversations)" if _is_schema(data) else ""
        parsed.error(
            f"is not a seed file of a known layout{schema}; expected {EXPECTED_SHAPES}; found {_keys_of(data)}",
            code="wrong_shape",
            json_path="$",
        )
        return
    try:
        seed_file = SeedFile.model_validate(data)
    except ValidationError as exc:
        errors = document_errors(exc)
        for error in errors[:MAX_ERRORS_PER_FILE]:
            shown = f" (got {error.input})" if error.input and error.input not in error.message else ""
            parsed.errors.append(_located(parsed, error.type, error.path, f"{error.message}{shown}"))
        if len(errors) > MAX_ERRORS_PER_FILE:
            parsed.error(f"... and {len(errors) - MAX_ERRORS_PER_FILE} more errors", code="truncated")
        return
    parsed.seed_file = seed_file
    parsed.layout = parsed.layout or seed_file.layout
    docs = group_conversations(seed_file)
    for issue in seed_file_issues(seed_file, docs):
        problem = _located(parsed, issue.code, issue.path, issue.message)
        (parsed.errors if issue.severity is Severity.ERROR else parsed.warnings).append(problem)
    parsed.warnings.extend(_meta_warnings(parsed, data))
    if not parsed.errors:
        parsed.docs = docs


_LINE_PATH = re.compile(r"^\$\.training_pairs\[(\d+)\]")


def _located(parsed: ParsedSeed, code: str, path: str, message: str) -> Problem:
    """A problem at a JSON path; in JSON Lines the path of a pair becomes its line and a path inside it."""
    match = _LINE_PATH.match(path) if parsed.pair_lines is not None else None
    if match is None or parsed.pair_lines is None:
        return Problem(file=parsed.name, code=code, json_path=path, message=message)
    line = parsed.pair_lines[int(match.group(1))]
    return Problem(
        file=parsed.name, code=code, line=line, column=1, json_path="$" + path[match.end() :], message=message
    )


def _meta_warnings(parsed: ParsedSeed, data: dict[str, Any]) -> list[Problem]:
    """The JSON Lines header's declared pair count, compared with the lines (a claim: a warning)."""
    meta = data.get(META_KEY)
    declared = meta.get("total_pairs") if isinstance(meta, dict) else None
    present = len(data.get("training_pairs") or [])
    if parsed.layout != "jsonl" or not isinstance(declared, int) or isinstance(declared, bool) or declared == present:
        return []
    return [
        Problem(
            file=parsed.name,
            code="declared_count_mismatch",
            line=1,
            column=1,
            json_path="$._meta.total_pairs",
            message=f"declares {declared} training pairs but the file holds {present}; the declared value is kept "
            "as written and the stored counts are the real ones",
        )
    ]


def _first_syntax_error(text: str) -> json.JSONDecodeError | None:
    try:
        _loads(text)
    except json.JSONDecodeError as exc:
        return exc
    except (_SyntaxProblem, RecursionError):
        return None
    return None


def _snippet(text: str, pos: int) -> str:
    line_end = text.find("\n", pos)
    fragment = text[pos : line_end if line_end != -1 else len(text)].strip()
    if len(fragment) > _SNIPPET_CHARS:
        fragment = fragment[: _SNIPPET_CHARS - 1] + "…"
    return f"`{fragment}`" if fragment else "the end of the line"


# --------------------------------------------------------------------------------------------------
# Where in the document a character position is
# --------------------------------------------------------------------------------------------------


def path_at(text: str, pos: int) -> list[str | int]:
    """The JSON path of the value being written at ``pos`` of (possibly broken) JSON text."""
    # Each frame: [is_object, key_or_index, expecting_key]
    stack: list[list[Any]] = []
    i = 0
    end = min(pos, len(text))
    while i < end:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if stack and stack[-1][0] and stack[-1][2]:
                try:
                    stack[-1][1] = json.loads(text[i : j + 1])
                except ValueError:
                    stack[-1][1] = text[i + 1 : j]
            i = j + 1
            continue
        if ch == "{":
            stack.append([True, None, True])
        elif ch == "[":
            stack.append([False, 0, False])
        elif ch in "}]":
            if stack:
                stack.pop()
        elif ch == ",":
            if stack and stack[-1][0]:
                stack[-1][1], stack[-1][2] = None, True
            elif stack:
                stack[-1][1] += 1
        elif ch == ":" and stack and stack[-1][0]:
            stack[-1][2] = False
        i += 1
    path: list[str | int] = []
    for is_object, key, expecting_key in stack:
        if is_object:
            if key is None or expecting_key:
                break
            path.append(key)
        else:
            path.append(key)
    return path


def _lookup(data: Any, path: Iterable[str | int]) -> tuple[bool, Any]:
    node = data
    for segment in path:
        if isinstance(segment, int) and isinstance(node, list) and 0 <= segment < len(node):
            node = node[segment]
        elif isinstance(segment, str) and isinstance(node, dict) and segment in node:
            node = node[segment]
        else:
            return False, None
    return True, node


# --------------------------------------------------------------------------------------------------
# What json-repair changed
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepairNote:
    line: int | None
    column: int | None
    path: str | None
    message: str


def _line_column(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _bare_token_end(text: str, pos: int) -> int:
    """End of an unquoted token starting at ``pos``: the next structural character or line end."""
    end = pos
    while end < len(text) and text[end] not in ",]}\n":
        end += 1
    while end > pos and text[end - 1].isspace():
        end -= 1
    return end


def describe_repairs(text: str, repaired: Any) -> list[RepairNote]:
    """Walk the syntax errors of ``text`` in order and say, for each, what json-repair put there.

    Each error is located with ``json.JSONDecodeError`` (line and column in the original text) and by its
    JSON path; the repaired document is read at that path. A spot is then patched the way json-repair
    repaired it (an unquoted token quoted, a trailing comma dropped, a missing comma inserted) so the next
    error can be found. When the patched text parses to exactly ``repaired`` every change has been
    described; otherwise the last note says that json-repair changed more than was described.
    """
    notes: list[RepairNote] = []
    current = text
    # (position in `current`, length delta) of every patch so far, to map positions back to `text`.
    shifts: list[tuple[int, int]] = []

    def original_pos(pos: int) -> int:
        return pos - sum(delta for at, delta in shifts if at <= pos)

    for _ in range(MAX_REPAIR_SPOTS):
        try:
            result = _loads(current)
        except json.JSONDecodeError as exc:
            pos = exc.pos
            line, column = _line_column(text, max(0, original_pos(pos)))
            segments = path_at(current, pos)
            where = json_path(segments)
            prefix = f"{exc.msg}; repaired by json-repair: "
            if exc.msg == "Expecting value" and pos < len(current) and current[pos] not in "]}":
                end = _bare_token_end(current, pos)
                token = current[pos:end]
                found, value = _lookup(repaired, segments)
                if token and found:
                    kind = "unquoted array item" if segments and isinstance(segments[-1], int) else "unquoted value"
                    shown = f"the string {value!r}" if isinstance(value, str) else json.dumps(value)
                    notes.append(RepairNote(line, column, where, f"{prefix}the {kind} `{token}` became {shown}"))
                    replacement = json.dumps(value, ensure_ascii=False)
                    current = current[:pos] + replacement + current[end:]
                    shifts.append((pos, len(replacement) - len(token)))
                    continue
            if exc.msg == "Expecting value" and pos < len(current) and current[pos] in "]}":
                comma = current.rfind(",", 0, pos)
                if comma != -1 and not current[comma + 1 : pos].strip():
                    notes.append(RepairNote(line, column, where, f"{prefix}a trailing comma before it was removed"))
                    current = current[:comma] + current[comma + 1 :]
                    shifts.append((comma, -1))
                    continue
            if exc.msg == "Expecting ',' delimiter":
                notes.append(RepairNote(line, column, where, f"{prefix}a missing comma was inserted here"))
                current = current[:pos] + "," + current[pos:]
                shifts.append((pos, 1))
                continue
            notes.append(
                RepairNote(
                    line,
                    column,
                    where,
                    f"{prefix}json-repair rewrote this spot (and possibly others after it); check the imported "
                    "values here against the source",
                )
            )
            return notes
        except (_SyntaxProblem, RecursionError):
            break
        else:
            if result != repaired:
                notes.append(
                    RepairNote(
                        None,
                        None,
                        None,
                        "json-repair also changed values beyond the syntax errors listed; compare the imported "
                        "conversation with the source",
                    )
                )
            return notes
    notes.append(
        RepairNote(None, None, None, f"more than {MAX_REPAIR_SPOTS} syntax errors were repaired; only the first shown")
    )
    return notes
