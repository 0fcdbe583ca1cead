"""`{{variable}}` placeholders: scanning, checking and filling."""

from __future__ import annotations

import pytest

from training_data_studio.prompt_templates.rendering import (
    ALLOWED_VARIABLES,
    TemplateRenderError,
    check_template,
    render_template,
    template_variables,
)


def test_render_fills_every_placeholder() -> None:
    text = "Hello {{persona_name}}, I am {{ consultant_name }}.\n{{persona_name}} again."
    assert render_template(text, {"persona_name": "Ana", "consultant_name": "Elena"}) == (
        "Hello Ana, I am Elena.\nAna again."
    )


def test_single_braces_are_text() -> None:
    assert render_template("JSON {like: this} {{tier}}", {"tier": "tier1"}) == "JSON {like: this} tier1"


def test_missing_value_names_the_variable_and_its_position() -> None:
    with pytest.raises(TemplateRenderError, match=r"\{\{topic_category\}\} has no value \(line 2, column 7\)"):
        render_template("Hello\nTopic {{topic_category}}", {})
    with pytest.raises(TemplateRenderError, match="persona_name"):
        render_template("{{persona_name}}", {"persona_name": None})


def test_variables_in_order_of_first_use() -> None:
    assert template_variables("{{b}} {{a}} {{b}}") == ["b", "a"]


def test_allowed_variables_match_the_data_readme() -> None:
    assert len(ALLOWED_VARIABLES) == 16
    assert {"consultant_name", "turn_count_target", "emotional_arc_description"} <= ALLOWED_VARIABLES


def test_unknown_variable_is_reported_with_line_and_column() -> None:
    [problem] = check_template("Line one\n  {{persona_name}} and {{client_age}}")
    assert (problem.code, problem.variable, problem.line, problem.column) == ("unknown_variable", "client_age", 2, 24)
    assert "{{client_age}} is not a template variable" in problem.message


@pytest.mark.parametrize(
    ("text", "code", "where"),
    [
        ("Hi {{persona_name", "unclosed_placeholder", (1, 4)),
        ("Hi {{persona_name} and more", "unclosed_placeholder", (1, 4)),
        ("Hi persona_name}}", "stray_closing_braces", (1, 16)),
        ("A\n{{persona name}}", "invalid_placeholder", (2, 1)),
        ("{{}}", "invalid_placeholder", (1, 1)),
        ("{{{tier}}}", "invalid_placeholder", (1, 1)),
        ("{{a {{tier}}", "unclosed_placeholder", (1, 1)),
    ],
)
def test_unbalanced_or_malformed_braces(text: str, code: str, where: tuple[int, int]) -> None:
    problems = check_template(text)
    assert problems, text
    assert (problems[0].code, (problems[0].line, problems[0].column)) == (code, where)
    with pytest.raises(TemplateRenderError):
        render_template(text, dict.fromkeys(ALLOWED_VARIABLES, "x"))


def test_the_shipped_templates_are_valid() -> None:
    from training_data_studio.plan.service import read_templates

    for template in read_templates():
        assert check_template(template["template_prompt"]) == [], template["template_id"]
        assert check_template(template["template_instructions"] or "") == [], template["template_id"]
