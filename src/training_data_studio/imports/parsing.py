"""Read one seed file into validated conversations, or say precisely why not.

Steps: size check (before reading), read, decode UTF-8, parse JSON (or repair it with json-repair when
asked, describing each repaired spot), validate with the document model (errors carry JSON paths), group
the pairs into conversations and run the conversation-level checks (errors reject the file, warnings are
reported). Nothing here touches the database.
"""

from __future__ import annotations

import json
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
from .schemas import Problem

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


@dataclass
class ParsedSeed:
    name: str
    seed_file: SeedFile | None = None
    docs: list[ConversationDoc] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    repaired: bool = False

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

    data = _parse_json(parsed, text, repair=repair)
    if parsed.errors:
        return parsed
    _validate(parsed, data)
    return parsed


def _parse_json(parsed: ParsedSeed, text: str, *, repair: bool) -> Any:
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        if not repair:
            parsed.error(
                f"is not valid JSON: {exc.msg} (at {_snippet(text, exc.pos)}); fix the file or import it with "
                "repair (--repair)",
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
    if isinstance(data, dict) and "training_pairs" not in data and "conversations" not in data:
        parsed.error(
            "is not a seed file: it has neither 'training_pairs' (one conversation) nor 'conversations' (several)",
            code="wrong_shape",
            json_path="$",
        )
    try:
        seed_file = SeedFile.model_validate(data)
    except ValidationError as exc:
        errors = document_errors(exc)
        for error in errors[:MAX_ERRORS_PER_FILE]:
            shown = f" (got {error.input})" if error.input and error.input not in error.message else ""
            parsed.error(f"{error.message}{shown}", code=error.type, json_path=error.path)
        if len(errors) > MAX_ERRORS_PER_FILE:
            parsed.error(f"... and {len(errors) - MAX_ERRORS_PER_FILE} more errors", code="truncated")
        return
    if parsed.errors:
        return
    parsed.seed_file = seed_file
    for issue in seed_file_issues(seed_file):
        problem = Problem(file=parsed.name, code=issue.code, json_path=issue.path, message=issue.message)
        (parsed.errors if issue.severity is Severity.ERROR else parsed.warnings).append(problem)
    if not parsed.errors:
        parsed.docs = group_conversations(seed_file)


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
