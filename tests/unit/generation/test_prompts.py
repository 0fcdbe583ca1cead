"""Prompt building: variables from the plan row, a cacheable static prefix, trimmed examples, estimates."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from training_data_studio.conversations.document import conversation_json_schema
from training_data_studio.generation.prompts import (
    ALLOWED_VARIABLES,
    DEFAULT_SECONDS_PER_CONVERSATION,
    HISTORY_SHARED_TOKENS,
    HISTORY_TOKENS_PER_TURN,
    MAX_EXAMPLE_TURNS,
    OUTPUT_HIGH_FACTOR,
    OUTPUT_TOKENS_PER_TURN,
    REVIEW_ONLY_FIELDS,
    TURN_OUTPUT_TOKENS,
    BuiltPrompt,
    ExampleCandidate,
    PromptError,
    PromptTemplate,
    build_prompt,
    estimate,
    history_tokens,
    max_output_tokens_for,
    pick_examples,
    prompt_artefacts,
    template_guidance,
    template_variables,
    trim_example,
)
from training_data_studio.llm.base import Usage
from training_data_studio.llm.pricing import cost_cents
from training_data_studio.models import ConversationTemplate
from training_data_studio.plan.service import PlanRow


def test_every_variable_is_substituted_from_the_plan_row(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    assert "{{" not in prompt.conversation_part
    assert "}}" not in prompt.conversation_part
    assert plan_row.persona_name in prompt.conversation_part
    assert plan_row.topic_category in prompt.conversation_part
    assert "(intensity about 0.78 on a 0-1 scale)" in prompt.conversation_part  # Decimal("0.78") as text
    assert "(about 0.75)" in prompt.conversation_part
    assert "Elena Morales, CFP" in prompt.conversation_part
    assert f"Required conversation_id: {plan_row.conversation_id}" in prompt.conversation_part
    assert f"Required number of turns: {plan_row.turn_count_target}" in prompt.conversation_part
    assert prompt.variables["conversation_id"] == plan_row.conversation_id
    assert prompt.variables["turn_count_target"] == "4"
    assert prompt.variables["consultant_name"] == "Elena Morales, CFP"
    assert prompt.conversation_id == plan_row.conversation_id
    assert prompt.template_id == plan_row.template_key


def test_variables_lists_exactly_what_the_template_uses(
    prompt: BuiltPrompt, templates: dict[str, dict[str, Any]], plan_row: PlanRow
) -> None:
    used = template_variables(templates[plan_row.template_key]["template_prompt"])
    assert sorted(prompt.variables) == sorted(used)
    assert set(used) <= ALLOWED_VARIABLES


def test_intensities_are_written_without_trailing_zeros(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow
) -> None:
    row = plan_row.model_copy(update={"starting_emotion_intensity": Decimal("0.80")})
    built = build_prompt(templates[row.template_key], row, examples[:1])
    assert built.variables["starting_emotion_intensity"] == "0.8"


def test_the_consultant_name_can_be_changed(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow
) -> None:
    built = build_prompt(templates[plan_row.template_key], plan_row, examples[:1], consultant_name="Dana Lee, CFP")
    assert "Dana Lee, CFP" in built.conversation_part
    assert "Dana Lee, CFP" in built.static_prefix
    assert "Elena Morales" not in built.conversation_part


def test_an_unknown_variable_is_refused_before_any_call(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow
) -> None:
    template = dict(templates[plan_row.template_key])
    template["template_prompt"] += "\nBudget: {{monthly_budget}} and {{ client_age }}."
    with pytest.raises(PromptError) as caught:
        build_prompt(template, plan_row, examples[:1])
    error = caught.value
    assert error.status == 422
    assert error.code == "prompt_error"
    assert "{{monthly_budget}}" in error.message
    assert "{{client_age}}" in error.message
    assert error.fields == {"monthly_budget": "unknown template variable", "client_age": "unknown template variable"}


def test_a_missing_value_is_refused(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow
) -> None:
    row = plan_row.model_copy(update={"persona_description": None, "topic_description": "   "})
    with pytest.raises(PromptError) as caught:
        build_prompt(templates[row.template_key], row, examples[:1])
    assert "persona_description" in caught.value.message
    assert set(caught.value.fields or {}) == {"persona_description", "topic_description"}


def test_unbalanced_braces_are_refused(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow
) -> None:
    template = dict(templates[plan_row.template_key], template_prompt="Write for {{persona_name}} {{oops")
    with pytest.raises(PromptError, match="unbalanced"):
        build_prompt(template, plan_row, examples[:1])


def test_without_an_example_there_is_no_prompt(templates: dict[str, dict[str, Any]], plan_row: PlanRow) -> None:
    with pytest.raises(PromptError, match="No approved seed conversation"):
        build_prompt(templates[plan_row.template_key], plan_row, [])


def test_every_planned_row_builds_with_the_shipped_templates(
    plan_rows: list[PlanRow], make_prompt: Callable[[PlanRow], BuiltPrompt]
) -> None:
    to_generate = [row for row in plan_rows if not row.is_seed_example]
    assert len(to_generate) == 90
    for row in to_generate:
        built = make_prompt(row)
        assert "{{" not in built.conversation_part, row.conversation_id


def test_the_static_prefix_is_shared_by_every_conversation_of_a_template(
    plan_rows: list[PlanRow], make_prompt: Callable[[PlanRow], BuiltPrompt]
) -> None:
    rows = [row for row in plan_rows if row.template_key == "confusion_to_clarity" and not row.is_seed_example][:3]
    built = [make_prompt(row) for row in rows]
    assert len({prompt.static_prefix for prompt in built}) == 1
    assert len({prompt.conversation_part for prompt in built}) == 3
    for prompt in built:
        assert prompt.conversation_id not in prompt.static_prefix


def test_the_static_prefix_holds_voice_rules_output_rules_guidance_and_examples(
    prompt: BuiltPrompt, templates: dict[str, dict[str, Any]], plan_row: PlanRow
) -> None:
    prefix = prompt.static_prefix
    assert (
        prefix.index("Feelings first")
        < prefix.index("OUTPUT FORMAT")
        < prefix.index("TEMPLATE:")
        < prefix.index("EXAMPLE 1")
    )
    assert "EXAMPLE 2" in prefix
    assert "EXAMPLE 3" not in prefix
    assert "check-in question" in prefix
    assert "3-6 entries" in prefix
    assert "character for character" in prefix
    assert templates[plan_row.template_key]["template_instructions"].strip() in prefix
    assert len(prompt.example_ids) == 2


def test_examples_are_trimmed_to_their_first_turns_without_review_fields(examples: list[dict[str, Any]]) -> None:
    trimmed = trim_example(examples[1])
    assert len(trimmed["training_pairs"]) == MAX_EXAMPLE_TURNS
    assert trimmed["conversation_metadata"]["total_turns"] == MAX_EXAMPLE_TURNS
    for pair in trimmed["training_pairs"]:
        assert not set(REVIEW_ONLY_FIELDS) & set(pair["training_metadata"])
    # the original document is untouched
    assert "human_reviewed" in examples[1]["training_pairs"][0]["training_metadata"]


def test_examples_appear_as_json_in_the_output_shape(prompt: BuiltPrompt) -> None:
    line = next(line for line in prompt.static_prefix.splitlines() if line.startswith('{"conversation_metadata"'))
    example = json.loads(line)
    assert set(example) == {"conversation_metadata", "training_pairs"}


def test_multi_layout_examples_are_accepted(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow
) -> None:
    single = examples[0]
    multi = {
        "consultant_profile": single["consultant_profile"],
        "conversations": [{"conversation_metadata": {}, "training_pairs": single["training_pairs"]}],
    }
    built = build_prompt(templates[plan_row.template_key], plan_row, [multi])
    assert built.example_ids == [single["training_pairs"][0]["conversation_id"]]


def test_a_template_row_from_the_database_works_too(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]], plan_row: PlanRow, prompt: BuiltPrompt
) -> None:
    data = templates[plan_row.template_key]
    columns = {c.key for c in ConversationTemplate.__table__.columns}
    row = ConversationTemplate(**{key: value for key, value in data.items() if key in columns})
    assert build_prompt(row, plan_row, examples[:2]) == prompt


def test_the_request_carries_the_schema_and_an_output_budget(prompt: BuiltPrompt) -> None:
    request = prompt.request()
    assert request.schema == conversation_json_schema()
    assert request.conversation_id == prompt.conversation_id
    assert request.max_output_tokens == max_output_tokens_for(4) == 36_000
    assert request.expected_output_tokens == 4 * OUTPUT_TOKENS_PER_TURN
    assert max_output_tokens_for(6) == 54_000
    assert request.repair is None


def test_pick_examples_prefers_same_template_and_persona(plan_row: PlanRow) -> None:
    def candidate(cid: str, template: str | None, persona: str | None) -> ExampleCandidate:
        return ExampleCandidate(conversation_id=cid, template_key=template, persona_type=persona, document={})

    same_both = candidate("c_both", plan_row.template_key, plan_row.persona_type)
    same_template = candidate("b_template", plan_row.template_key, "David")
    same_persona = candidate("a_persona", "grief_to_healing", plan_row.persona_type)
    unrelated = candidate("0_none", "grief_to_healing", "David")
    itself = candidate(plan_row.conversation_id, plan_row.template_key, plan_row.persona_type)
    candidates = [unrelated, same_persona, same_template, same_both, itself]
    assert pick_examples(candidates, plan_row) == [same_both, same_template]
    assert pick_examples(candidates, plan_row, limit=3) == [same_both, same_template, same_persona]
    assert pick_examples(candidates, plan_row, limit=4) == [same_both, same_template, same_persona, unrelated]
    # With nothing closer, any approved seed serves: it still shows the annotation depth and the voice.
    assert pick_examples([unrelated], plan_row) == [unrelated]
    assert pick_examples([itself], plan_row) == []


def test_estimate_counts_one_call_per_turn_with_the_history_growing(prompt: BuiltPrompt) -> None:
    result = estimate(prompt, "claude-sonnet-4-6")
    prefix_tokens = -(-len(prompt.static_prefix) // 4)
    assert prompt.turn_count_target == 4
    assert result.calls == 4
    assert result.cached_prefix_tokens == 4 * prefix_tokens  # sent with every call, read from the cache
    # each call: the conversation part and its turn brief, and the conversation so far (none, then 1-3 turns)
    briefs = 0
    for turn in range(1, 5):
        request = prompt.turn_request(turn, [])
        briefs += -(-len(request.conversation_part + request.instruction_text) // 4)
    history = sum(history_tokens(earlier) for earlier in range(4))
    assert history == 3 * HISTORY_SHARED_TOKENS + 6 * HISTORY_TOKENS_PER_TURN
    assert result.input_tokens == 4 * prefix_tokens + briefs + history
    assert result.output_tokens == 4 * TURN_OUTPUT_TOKENS
    assert Decimal(0) < result.cost_low_cents < result.cost_high_cents
    assert not result.unpriced
    assert result.seconds == DEFAULT_SECONDS_PER_CONVERSATION
    assert estimate(prompt, "claude-sonnet-4-6", median_seconds=212.5).seconds == 212.5


def test_a_completion_is_estimated_for_the_turns_it_writes(prompt: BuiltPrompt) -> None:
    whole = estimate(prompt, "claude-sonnet-4-6")
    last_two = estimate(prompt, "claude-sonnet-4-6", stored_turns=2)
    assert last_two.calls == 2
    assert last_two.output_tokens == 2 * TURN_OUTPUT_TOKENS
    assert last_two.cost_high_cents < whole.cost_high_cents


def test_an_economy_estimate_is_one_whole_conversation_call_at_the_batch_price(prompt: BuiltPrompt) -> None:
    batch = estimate(prompt, "claude-sonnet-4-6", batch=True)
    prefix_tokens = -(-len(prompt.static_prefix) // 4)
    assert batch.calls == 1
    assert batch.input_tokens == prefix_tokens + -(-len(prompt.conversation_part) // 4)
    assert batch.output_tokens == 4 * OUTPUT_TOKENS_PER_TURN
    full_price = cost_cents(
        "claude-sonnet-4-6",
        Usage(
            input_tokens=-(-len(prompt.conversation_part) // 4),
            cache_write_tokens=prefix_tokens,
            output_tokens=int(4 * OUTPUT_TOKENS_PER_TURN * OUTPUT_HIGH_FACTOR),
        ),
    ).cents
    assert abs(batch.cost_high_cents - full_price / 2) <= Decimal("0.0001")


def test_estimate_for_an_unpriced_model(prompt: BuiltPrompt) -> None:
    result = estimate(prompt, "llama3.1:8b")
    assert result.unpriced
    assert result.cost_low_cents == result.cost_high_cents == Decimal(0)


def test_every_shipped_template_renders_as_sentences_a_model_can_follow(
    templates: dict[str, dict[str, Any]], plan_rows: list[PlanRow], examples: list[dict[str, Any]]
) -> None:
    """The dry-run text of every planned conversation (each template, every turn count it is used with):
    no "If 4 is 3", no unfilled placeholder, no empty value, no doubled word."""
    checked: set[str] = set()
    problems: list[str] = []
    for row in plan_rows:
        if row.is_seed_example:
            continue
        prompt = build_prompt(templates[row.template_key], row, examples[:2])
        checked.add(row.template_key)
        for turn in range(1, row.turn_count_target + 1):
            # The template's own text as the model reads it (the fixed rules and the examples are JSON-heavy
            # and not written from the template)
            guidance = template_guidance(PromptTemplate.model_validate(templates[row.template_key]))
            text = guidance + "\n" + prompt.turn_request(turn, []).conversation_part
            problems += [f"#{row.conversation_number}: {artefact}" for artefact in prompt_artefacts(text)]
    assert checked == set(templates)
    assert problems == []


@pytest.mark.parametrize(
    "text",
    [
        "If 4 is 3, fold the follow-up questions into the middle turn.",
        "Fold them in; if it is 5, add one.",
        "Client: {{persona_name}} again.",
        "Opens feeling None (intensity about 0.8).",
        "the the consultant",
    ],
)
def test_template_artefacts_are_found(text: str) -> None:
    assert prompt_artefacts(text)
