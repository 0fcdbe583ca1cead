"""Validate a v4 training file against the Studio's own JSON Schema of the layout (shipped in the package,
so validation never depends on files outside it), with the ``jsonschema`` library.

Formats are checked too (``date-time``, ``date``, ``uuid``): the layout states them, and a trainer's
tooling may rely on them. Every problem names the JSON path of the value at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_RESOURCE = "v4_training_file.schema.json"
# A broken file usually repeats one mistake in every pair; the first problems are enough to fix it.
MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@lru_cache
def v4_schema() -> dict[str, Any]:
    text = resources.files("training_data_studio.exports.formats").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every local ``#/$defs/...`` reference replaced by its definition (the schema has no
    recursion). The same constraints, but jsonschema no longer resolves a reference at each of the ~100
    values of every pair, which is most of its time on a 1,000-conversation file."""
    if isinstance(node, list):
        return [inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved = inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {**resolved, **{k: inline_refs(v, defs) for k, v in node.items() if k != "$ref"}}
    return {key: inline_refs(value, defs) for key, value in node.items() if key != "$defs"}


@lru_cache
def _studio_validator() -> Draft202012Validator:
    schema = v4_schema()
    return validator_for(inline_refs(schema, schema["$defs"]))


def _document_order(error: Any) -> list[tuple[int, int | str]]:
    return [(0, p) if isinstance(p, int) else (1, str(p)) for p in error.absolute_path]


def schema_problems(
    document: Any, validator: Draft202012Validator | None = None, *, limit: int = MAX_PROBLEMS
) -> list[SchemaProblem]:
    """Problems of ``document`` (by default against the Studio's v4 schema), in document order."""
    check = validator or _studio_validator()
    problems = []
    for error in sorted(check.iter_errors(document), key=_document_order):
        problems.append(SchemaProblem(error.json_path, error.message))
        if len(problems) >= limit:
            break
    return problems
