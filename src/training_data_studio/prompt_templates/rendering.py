"""`{{variable}}` placeholders in generation prompts: find them, check them, fill them.

Pure functions, standard library only, so the generator can call :func:`render_template` too.

Syntax: a placeholder is ``{{name}}`` (spaces inside the braces are allowed: ``{{ name }}``), where
``name`` is a Python-style identifier. Single braces are ordinary text. A ``{{`` that is never closed,
a ``}}`` that was never opened, and anything other than one identifier between the braces are errors.
Positions are reported as 1-based ``line:column`` of the opening (or stray closing) braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..conversations.consultant import CONSULTANT_NAME

__all__ = ["ALLOWED_VARIABLES", "CONSULTANT_NAME"]

# The names a template may use: the plan row's columns plus consultant_name (see data/README.md).
ALLOWED_VARIABLES = frozenset(
    {
        "conversation_id",
        "conversation_number",
        "persona_type",
        "persona_name",
        "persona_description",
        "topic_category",
        "topic_description",
        "tier",
        "tier_template",
        "starting_emotion",
        "starting_emotion_intensity",
        "ending_emotion",
        "ending_emotion_intensity",
        "emotional_arc_description",
        "turn_count_target",
        "consultant_name",
    }
)

_BRACES = re.compile(r"\{\{|\}\}")
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    start: int  # offset of the opening braces
    end: int  # offset just after the closing braces
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One thing wrong with a template text, with where it is."""

    code: str  # unclosed_placeholder | stray_closing_braces | invalid_placeholder | unknown_variable
    message: str
    line: int
    column: int
    variable: str | None = None

    @property
    def where(self) -> str:
        return f"{self.line}:{self.column}"


class TemplateRenderError(ValueError):
    """A template could not be filled: bad syntax, or a placeholder without a value."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.message} (line {p.line}, column {p.column})" for p in problems))


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def scan(text: str) -> tuple[list[Placeholder], list[TemplateProblem]]:
    """Every well-formed placeholder, in order, and every syntax problem."""
    placeholders: list[Placeholder] = []
    problems: list[TemplateProblem] = []
    tokens = list(_BRACES.finditer(text))
    index = 0
    while index < len(tokens):
        token = tokens[index]
        line, column = _position(text, token.start())
        if token.group() == "}}":
            problems.append(
                TemplateProblem(
                    "stray_closing_braces", "'}}' has no matching '{{' before it; remove it or add '{{'", line, column
                )
            )
            index += 1
            continue
        closing = tokens[index + 1] if index + 1 < len(tokens) else None
        if closing is None or closing.group() != "}}":
            problems.append(
                TemplateProblem(
                    "unclosed_placeholder", "'{{' is never closed; write the placeholder as {{name}}", line, column
                )
            )
            index += 1
            continue
        inner = text[token.end() : closing.start()]
        match = _NAME.fullmatch(inner)
        if match is None:
            shown = inner if len(inner) <= 40 else inner[:39] + "…"
            problems.append(
                TemplateProblem(
                    "invalid_placeholder",
                    f"'{{{{{shown}}}}}' is not a placeholder: put exactly one variable name between the braces",
                    line,
                    column,
                )
            )
        else:
            placeholders.append(Placeholder(match.group(1), token.start(), closing.end(), line, column))
        index += 2
    return placeholders, problems


def template_variables(text: str) -> list[str]:
    """The distinct variable names a template uses, in order of first use."""
    placeholders, _ = scan(text)
    return list(dict.fromkeys(p.name for p in placeholders))


def check_template(text: str, allowed: frozenset[str] = ALLOWED_VARIABLES) -> list[TemplateProblem]:
    """Syntax problems and unknown variables, in text order."""
    placeholders, problems = scan(text)
    for placeholder in placeholders:
        if placeholder.name not in allowed:
            problems.append(
                TemplateProblem(
                    "unknown_variable",
                    f"{{{{{placeholder.name}}}}} is not a template variable; use one of: {', '.join(sorted(allowed))}",
                    placeholder.line,
                    placeholder.column,
                    variable=placeholder.name,
                )
            )
    return sorted(problems, key=lambda p: (p.line, p.column))


def render_template(text: str, variables: Mapping[str, object]) -> str:
    """Replace every ``{{name}}`` with ``str(variables[name])``.

    Raises :class:`TemplateRenderError` on a syntax problem or a placeholder whose name is missing from
    ``variables`` (or maps to ``None``): a prompt is never sent with a hole in it.
    """
    placeholders, problems = scan(text)
    for placeholder in placeholders:
        if variables.get(placeholder.name) is None:
            problems.append(
                TemplateProblem(
                    "missing_value",
                    f"{{{{{placeholder.name}}}}} has no value",
                    placeholder.line,
                    placeholder.column,
                    variable=placeholder.name,
                )
            )
    if problems:
        raise TemplateRenderError(sorted(problems, key=lambda p: (p.line, p.column)))
    parts: list[str] = []
    cursor = 0
    for placeholder in placeholders:
        parts.append(text[cursor : placeholder.start])
        parts.append(str(variables[placeholder.name]))
        cursor = placeholder.end
    parts.append(text[cursor:])
    return "".join(parts)
