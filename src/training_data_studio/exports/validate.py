"""Check an export folder from its files alone, as a training job would read them.

* the manifest parses, its id matches its content, and every file it lists exists with that sha256,
  size and record count;
* every line (JSONL) or array item (JSON) parses;
* chat examples: an optional system message first, then user / assistant strictly alternating, starting
  with user and ending with assistant; every content a non-empty string; a ``weight`` only on assistant
  messages and only 0 or 1;
* ShareGPT: the same alternation with human / gpt, and a ``dataset_info.json`` whose entries point at
  files of the export;
* annotated: every record's ``training_pairs`` parse with the document model and number their turns 1..n;
* no example is longer than the token budget (estimated as ceil(characters / 4), see ``formats``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..conversations.document import (
    Severity,
    TrainingPair,
    document_errors,
    validate_conversation_turns,
)
from .formats import example_tokens
from .manifest import MANIFEST_NAME, expected_export_id, read_manifest, sha256_file
from .schemas import CheckResult, ExportFormat, ExportManifest

DATASET_INFO = "dataset_info.json"
_MAX_ERRORS = 50


class _Findings:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.records = 0
        self.largest = 0

    def add(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def measure(self, where: str, contents: list[str], max_tokens: int) -> None:
        tokens = example_tokens(contents)
        self.largest = max(self.largest, tokens)
        if tokens > max_tokens:
            self.add(where, f"about {tokens} tokens, over the budget of {max_tokens}")

    def result(self) -> CheckResult:
        shown = self.errors[:_MAX_ERRORS]
        if len(self.errors) > _MAX_ERRORS:
            shown.append(f"... and {len(self.errors) - _MAX_ERRORS} more errors")
        return CheckResult(
            ok=not self.errors, errors=shown, records_checked=self.records, largest_example_tokens=self.largest
        )


def check_roles(roles: list[str], *, user: str = "user", assistant: str = "assistant") -> str | None:
    """Why this role sequence is not system?, user, assistant, user, ..., assistant (None when it is)."""
    start = 1 if roles and roles[0] == "system" else 0
    body = roles[start:]
    if not body:
        return f"has no {user} / {assistant} messages"
    for index, role in enumerate(body):
        expected = user if index % 2 == 0 else assistant
        if role != expected:
            return f"message {start + index + 1} has role {role!r} where {expected!r} was expected"
    if body[-1] != assistant:
        return f"ends with a {user} message; an example must end with {assistant!r}"
    return None


def _check_chat_record(record: Any, where: str, found: _Findings, max_tokens: int) -> None:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
        found.add(where, 'is not an object with a "messages" array')
        return
    messages: list[Any] = record["messages"]
    roles: list[str] = []
    contents: list[str] = []
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, dict):
            found.add(where, f"message {index} is not an object")
            return
        role, content = message.get("role"), message.get("content")
        if role not in ("system", "user", "assistant"):
            found.add(where, f"message {index} has an unknown role {role!r}")
            return
        if not isinstance(content, str) or not content.strip():
            found.add(where, f"message {index} has no text content")
        if "weight" in message and (role != "assistant" or message["weight"] not in (0, 1)):
            found.add(where, f"message {index} has weight {message['weight']!r}; only assistant messages take 0 or 1")
        roles.append(role)
        contents.append(content if isinstance(content, str) else "")
    problem = check_roles(roles)
    if problem:
        found.add(where, f"roles do not alternate: {problem}")
    found.measure(where, contents, max_tokens)


def _check_sharegpt_record(record: Any, where: str, found: _Findings, max_tokens: int) -> None:
    if not isinstance(record, dict) or not isinstance(record.get("conversations"), list):
        found.add(where, 'is not an object with a "conversations" array')
        return
    system = record.get("system")
    if system is not None and not isinstance(system, str):
        found.add(where, '"system" is not a string')
    contents = [system] if isinstance(system, str) else []
    roles: list[str] = []
    for index, message in enumerate(record["conversations"], start=1):
        if not isinstance(message, dict) or message.get("from") not in ("system", "human", "gpt"):
            found.add(where, f'message {index} is not {{"from": "human" | "gpt", "value": ...}}')
            return
        value = message.get("value")
        if not isinstance(value, str) or not value.strip():
            found.add(where, f"message {index} has no text value")
        roles.append(str(message["from"]))
        contents.append(value if isinstance(value, str) else "")
    problem = check_roles(roles, user="human", assistant="gpt")
    if problem:
        found.add(where, f"roles do not alternate: {problem}")
    found.measure(where, contents, max_tokens)


def _check_annotated_record(record: Any, where: str, found: _Findings, max_tokens: int) -> None:
    pairs_data = record.get("training_pairs") if isinstance(record, dict) else None
    if not isinstance(pairs_data, list) or not pairs_data:
        found.add(where, 'is not a seed document with a non-empty "training_pairs" array')
        return
    pairs: list[TrainingPair] = []
    for index, data in enumerate(pairs_data):
        try:
            pairs.append(TrainingPair.model_validate(data))
        except ValidationError as exc:
            first = document_errors(exc)[0]
            found.add(where, f"training_pairs[{index}]{first.path.removeprefix('$')}: {first.message}")
            return
    for issue in validate_conversation_turns(pairs, allow_gaps=True):
        if issue.severity is Severity.ERROR:
            found.add(where, f"{issue.path}: {issue.message}")
    contents = [pairs[0].system_prompt]
    for pair in pairs:
        contents += [pair.current_user_input, pair.reply]
    found.measure(where, contents, max_tokens)


def _jsonl_records(path: Path, found: _Findings) -> Iterator[tuple[str, Any]]:
    data = path.read_bytes()
    if b"\r" in data:
        found.add(path.name, "has carriage returns; lines must end with \\n only")
    if data and not data.endswith(b"\n"):
        found.add(path.name, "does not end with a newline")
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        where = f"{path.name}:{number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            found.add(where, f"is not valid JSON ({exc.msg})")


def _json_records(path: Path, found: _Findings) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        found.add(path.name, f"is not valid JSON ({exc.msg}, line {exc.lineno})")
        return
    if not isinstance(data, list):
        found.add(path.name, "is not a JSON array")
        return
    for index, record in enumerate(data):
        yield f"{path.name}[{index}]", record


def _check_dataset_info(directory: Path, manifest: ExportManifest, found: _Findings) -> None:
    path = directory / DATASET_INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        found.add(DATASET_INFO, f"cannot be read ({exc})")
        return
    if not isinstance(info, dict) or not info:
        found.add(DATASET_INFO, "is not an object of dataset descriptions")
        return
    for name, entry in info.items():
        if not isinstance(entry, dict) or entry.get("formatting") != "sharegpt":
            found.add(DATASET_INFO, f'{name}: needs "formatting": "sharegpt"')
            continue
        file_name = entry.get("file_name")
        if file_name not in manifest.files:
            found.add(DATASET_INFO, f"{name}: file_name {file_name!r} is not a file of this export")
        if not isinstance(entry.get("columns"), dict) or not isinstance(entry.get("tags"), dict):
            found.add(DATASET_INFO, f"{name}: needs columns and tags")


def validate_export(directory: Path, *, max_tokens: int | None = None) -> CheckResult:
    """Check an export folder; ``max_tokens`` defaults to the budget recorded in its manifest."""
    found = _Findings()
    try:
        manifest = read_manifest(directory)
    except (OSError, ValueError) as exc:
        found.add(MANIFEST_NAME, f"cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        return found.result()
    if expected_export_id(manifest) != manifest.export_id:
        found.add(MANIFEST_NAME, "export_id does not match the manifest's content (was it edited?)")
    budget = max_tokens if max_tokens is not None else manifest.tokens.max_tokens

    for name, entry in manifest.files.items():
        path = directory / name
        if not path.is_file():
            found.add(name, "is listed in the manifest but missing")
            continue
        if sha256_file(path) != entry.sha256 or path.stat().st_size != entry.bytes:
            found.add(name, "differs from the manifest (sha256 or size): the file was changed after export")
        if name == DATASET_INFO:
            _check_dataset_info(directory, manifest, found)
            continue
        if manifest.format is ExportFormat.CHAT_JSONL:
            records, check = _jsonl_records(path, found), _check_chat_record
        elif manifest.format is ExportFormat.SHAREGPT:
            records, check = _json_records(path, found), _check_sharegpt_record
        else:
            records, check = _json_records(path, found), _check_annotated_record
        count = 0
        for where, record in records:
            count += 1
            check(record, where, found, budget)
        found.records += count
        if count != entry.records:
            found.add(name, f"has {count} records but the manifest says {entry.records}")
    return found.result()
