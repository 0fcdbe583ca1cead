"""The prompt for one conversation: a static, cacheable prefix and the part that changes per conversation.

``static_prefix`` = the consultant's voice rules + the output rules (what every field means) + the
template's guidance + 1-2 trimmed seed examples. It depends only on the consultant, the template and the
examples, so every conversation of a template sends the same bytes and reads them from the prompt cache.

``conversation_part`` = the template prompt with its ``{{variables}}`` filled from the plan row, plus the
required conversation id and turn count. Template problems (an unknown variable, a value the plan row
does not have) raise :class:`PromptError` here, before any API call is paid for.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..conversations.consultant import CONSULTANT_NAME
from ..conversations.document import MAX_TURNS, TrainingPair, conversation_json_schema
from ..core.errors import AppError
from ..llm.base import GenerationRequest, Usage, estimate_tokens
from ..llm.pricing import cost_cents, price_for
from ..models import ConversationTemplate
from ..plan.service import PlanRow
from ..prompt_templates.rendering import (
    ALLOWED_VARIABLES,
    TemplateRenderError,
    check_template,
    render_template,
    template_variables,
)

# Two examples show the format and the voice without the prefix outgrowing the conversation itself.
MAX_EXAMPLES = 2
# Turn 1 shows an empty history, turn 2 shows the history form; later turns add length, not information.
MAX_EXAMPLE_TURNS = 2
# Review fields describe a human's judgement; generated output must not claim one, so examples omit them.
REVIEW_ONLY_FIELDS = ("human_reviewed", "reviewer_notes", "use_as_seed_example", "generate_variations_count")

# The reply length the prompt asks for (our sample seeds run 208-254 words). checks.py only rejects replies
# outside much wider sanity bounds.
TARGET_WORDS_LOW, TARGET_WORDS_HIGH = 150, 280

# Output budget. Our sample seeds measure 21-24k JSON characters per annotated turn (about 5.4k tokens at
# 4 characters per token, growing with the history); 6,000 per turn is that, rounded up.
OUTPUT_TOKENS_PER_TURN = 6_000
# max_tokens is the estimate plus 50% headroom, so an unusually wordy conversation is not cut off.
OUTPUT_HEADROOM = 1.5
# Sonnet 4.x and Haiku 4.5 allow 64k output tokens per call.
MAX_OUTPUT_TOKENS = 64_000
# The estimate's range: a short conversation with a warm cache, to a long one that writes the cache.
OUTPUT_LOW_FACTOR = 0.8
OUTPUT_HIGH_FACTOR = 1.25
# Before any conversation has been generated there is no median to go on: four turns written one call each,
# about 4,500 output tokens a call at the order of 60 tokens a second that Sonnet streams.
DEFAULT_SECONDS_PER_CONVERSATION = 300.0

REQUIRED_ID_LINE = "Required conversation_id: {conversation_id}"
REQUIRED_TURNS_LINE = "Required number of turns: {turns}"
REQUIRED_TURN_LINE = "Required turn: {turn} of {turns}"

# Turn by turn: a conversation is written one call per turn, so that every call fits the output-token limit
# of a low-tier account (order of 8k output tokens per minute, charged from max_tokens when the call starts;
# one call for a whole 4-turn conversation asked for 36k). An annotated turn without its history measures
# 1.8-5.0k tokens (4 characters each) over the 46 turns of our samples and the user's seeds; 4,500 is the
# estimate the pacer and the budget use, and max_tokens is half as much again so a wordy turn is not cut off.
TURN_OUTPUT_TOKENS = 4_500
TURN_MAX_OUTPUT_TOKENS = 7_000
TURN_INSTRUCTION = (
    "Write turn {turn} of {turns} of the conversation described above now: one training pair, as JSON that "
    "follows the schema, with an empty conversation_history."
)

# A conversation completed by generation may end on a client message its file holds: the next turn answers it.
GIVEN_CLIENT_MESSAGE = (
    "The client's message of turn {turn} is already written; use it word for word as current_user_input and "
    "write the consultant's reply to it:\n{message}"
)


class PromptError(AppError):
    """The template and plan row cannot make a prompt; nothing was sent to a model."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__("prompt_error", message, status=422, fields=fields)


class PromptTemplate(BaseModel):
    """The parts of a conversation template the prompt uses (from templates.json or the database row)."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    template_id: str
    template_name: str
    template_prompt: str
    template_instructions: str | None = None
    structural_pattern_description: str | None = None
    emotional_arc_pattern: str | None = None
    quality_requirements: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BuiltPrompt:
    static_prefix: str
    conversation_part: str
    variables: dict[str, str]
    conversation_id: str
    turn_count_target: int
    template_id: str
    example_ids: list[str] = field(default_factory=list)
    # The client messages and replies of the example turns shown (what "copies its example" compares).
    example_texts: tuple[str, ...] = ()

    @property
    def max_output_tokens(self) -> int:
        return max_output_tokens_for(self.turn_count_target)

    def request(self) -> GenerationRequest:
        """The request for the whole conversation in one call (the Message Batches path: no per-minute
        output limit applies there), with the conversation schema as structured output."""
        return GenerationRequest(
            conversation_id=self.conversation_id,
            static_prefix=self.static_prefix,
            conversation_part=self.conversation_part,
            schema=conversation_json_schema(),
            max_output_tokens=self.max_output_tokens,
            expected_output_tokens=self.turn_count_target * OUTPUT_TOKENS_PER_TURN,
        )

    def turn_request(
        self, turn: int, earlier: Sequence[TrainingPair], *, client_message: str | None = None
    ) -> GenerationRequest:
        """The request for turn ``turn`` alone, given the turns already written (``earlier``, in order).

        The static prefix is the same as for the whole conversation (so it is read from the prompt cache);
        the part after it adds the conversation so far and which turn to write. ``client_message``: the
        client's message of this turn is written already (a stored conversation that ends on it), and the
        call writes the reply to it.
        """
        parts = [
            self.conversation_part,
            conversation_so_far(earlier),
            turn_brief(turn, self.turn_count_target, self.conversation_id),
        ]
        if client_message is not None:
            parts.append(GIVEN_CLIENT_MESSAGE.format(turn=turn, message=client_message))
        return GenerationRequest(
            conversation_id=self.conversation_id,
            static_prefix=self.static_prefix,
            conversation_part="\n\n".join(parts),
            schema=pair_json_schema(),
            max_output_tokens=TURN_MAX_OUTPUT_TOKENS,
            expected_output_tokens=TURN_OUTPUT_TOKENS,
            instruction=TURN_INSTRUCTION.format(turn=turn, turns=self.turn_count_target),
            tool_name=TURN_TOOL_NAME,
            part=f"turn {turn} of {self.turn_count_target}",
        )


TURN_TOOL_NAME = "record_turn"


def pair_json_schema() -> dict[str, Any]:
    """JSON schema of one training pair (the items of the conversation schema's training_pairs)."""
    schema = copy.deepcopy(conversation_json_schema()["properties"]["training_pairs"]["items"])
    schema["title"] = "TrainingPair"
    schema["description"] = "One turn: the client's message, the consultant's reply and their annotation."
    return dict(schema)


def conversation_so_far(earlier: Sequence[TrainingPair]) -> str:
    """The earlier turns as the next call sees them: their messages, and the first turn's shared fields."""
    if not earlier:
        return "THE CONVERSATION SO FAR\n(nothing yet: this is the first turn)"
    first = earlier[0]
    shared = {
        "conversation_metadata": first.conversation_metadata.to_json_dict() if first.conversation_metadata else None,
        "system_prompt": first.system_prompt,
    }
    lines = [
        "THE CONVERSATION SO FAR",
        "Keep these fields of turn 1 on every turn: " + json.dumps(shared, ensure_ascii=False),
    ]
    for pair in earlier:
        lines.append(f"Turn {pair.turn_number}, client: {pair.current_user_input}")
        lines.append(f"Turn {pair.turn_number}, consultant: {pair.target_response}")
    return "\n".join(lines)


def turn_brief(turn: int, turns: int, conversation_id: str) -> str:
    """Which turn to write, and where it sits in the conversation's arc."""
    if turn == 1:
        place = "the opening turn"
    elif turn == turns:
        place = "the final turn: the conversation ends with this reply"
    else:
        place = "a middle turn"
    return "\n".join(
        [
            REQUIRED_TURN_LINE.format(turn=turn, turns=turns),
            f"Pair id: {conversation_id}_turn{turn}; this is {place}.",
        ]
    )


def max_output_tokens_for(turns: int) -> int:
    return min(MAX_OUTPUT_TOKENS, int(turns * OUTPUT_TOKENS_PER_TURN * OUTPUT_HEADROOM))


# --------------------------------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value).strip()


def plan_variables(plan_row: PlanRow, *, consultant_name: str) -> dict[str, str]:
    """Every allowed variable the plan row has a value for, as text."""
    values: dict[str, str] = {"consultant_name": consultant_name.strip()}
    for name in ALLOWED_VARIABLES - {"consultant_name"}:
        value = getattr(plan_row, name)
        if value is not None and _text(value):
            values[name] = _text(value)
    return values


def fill_template(text: str, values: Mapping[str, str], *, template_id: str) -> str:
    """Substitute every ``{{name}}`` (prompt_templates.rendering, the one template syntax of the product);
    unknown names, missing values and unbalanced braces raise :class:`PromptError` before any API call."""
    problems = check_template(text)
    unknown = [p.variable for p in problems if p.code == "unknown_variable" and p.variable]
    if unknown:
        raise PromptError(
            f"Template {template_id} uses unknown variable(s) {', '.join('{{' + n + '}}' for n in unknown)}; "
            f"allowed are {', '.join(sorted(ALLOWED_VARIABLES))}.",
            fields={name: "unknown template variable" for name in unknown},
        )
    if problems:
        where = ", ".join(f"line {p.line} column {p.column}" for p in problems)
        raise PromptError(
            f"Template {template_id} has unbalanced or malformed braces ({where}); write variables as {{{{name}}}}.",
            fields={"template_prompt": "unbalanced braces"},
        )
    missing = [name for name in template_variables(text) if name not in values]
    if missing:
        raise PromptError(
            f"Template {template_id} needs {', '.join(missing)} but the planned conversation has no value for "
            "it; fill it in on the plan row or remove it from the template.",
            fields={name: "no value on the plan row" for name in missing},
        )
    try:
        return render_template(text, values)
    except TemplateRenderError as exc:  # pragma: no cover - every cause is checked above
        raise PromptError(f"Template {template_id} could not be filled: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExampleCandidate:
    """An approved seed conversation that could serve as an example (``document`` in the seed format)."""

    conversation_id: str
    template_key: str | None
    persona_type: str | None
    document: Mapping[str, Any]


def pick_examples(
    candidates: Sequence[ExampleCandidate], plan_row: PlanRow, *, limit: int = MAX_EXAMPLES
) -> list[ExampleCandidate]:
    """Best examples first: same template and persona, then same template, then same persona, then any.

    Ties are broken by conversation id so that every conversation of a template gets the same examples
    (and therefore the same cacheable prefix).
    """

    def rank(candidate: ExampleCandidate) -> tuple[int, str]:
        same_template = candidate.template_key == plan_row.template_key
        same_persona = candidate.persona_type == plan_row.persona_type
        if same_template and same_persona:
            return (0, candidate.conversation_id)
        return (1 if same_template else 2 if same_persona else 3, candidate.conversation_id)

    # Tier 2 and 3 scenarios ("Mixed" clients) have no seed of their own template or persona: any approved
    # seed still shows the annotation depth and the consultant's voice, so it is the fallback.
    eligible = [c for c in candidates if c.conversation_id != plan_row.conversation_id]
    return sorted(eligible, key=rank)[:limit]


def _pairs_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    pairs = document.get("training_pairs")
    if pairs is None and isinstance(document.get("conversations"), list) and document["conversations"]:
        pairs = document["conversations"][0].get("training_pairs")
    if not isinstance(pairs, list) or not pairs or not all(isinstance(p, dict) for p in pairs):
        raise PromptError("An example conversation has no training_pairs; choose another seed as example.")
    first_id = pairs[0].get("conversation_id")
    return [p for p in pairs if p.get("conversation_id") == first_id]


def trim_example(document: Mapping[str, Any]) -> dict[str, Any]:
    """One example in the output shape: its first :data:`MAX_EXAMPLE_TURNS` turns, review fields removed."""
    pairs = copy.deepcopy(_pairs_of(document)[:MAX_EXAMPLE_TURNS])
    for pair in pairs:
        metadata = pair.get("training_metadata")
        if isinstance(metadata, dict):
            for name in REVIEW_ONLY_FIELDS:
                metadata.pop(name, None)
    return {
        "conversation_metadata": {"conversation_id": pairs[0].get("conversation_id"), "total_turns": len(pairs)},
        "training_pairs": pairs,
    }


# --------------------------------------------------------------------------------------------------
# Fixed text
# --------------------------------------------------------------------------------------------------


def voice_rules(consultant_name: str) -> str:
    return f"""You write training conversations between a client and {consultant_name}, a Certified Financial Planner. \
The conversations teach a model to sound like {consultant_name}, so every reply must show her voice:

- Feelings first: the first sentence of every reply names the emotion she hears, before any facts or numbers.
- No judgement: she says plainly that the situation is common and understandable, never that the client should \
have done better.
- She explains why, not only what, and asks permission before she starts teaching.
- Concrete numbers that fit this client (dollar amounts, percentages, dates), never vague words like "a lot".
- Every financial term is explained in everyday words the first time it appears.
- Complex decisions become small, ordered steps; at most three new ideas per reply.
- Advice is tied to what this client says matters to them, not to generic rules of thumb.
- Progress is celebrated, however small.
- Every reply ends with a check-in question about how the client feels or what they want next.
- She knows her limits: legal, tax-filing, medical or mental-health questions go to the right professional, \
named specifically, and safety always comes before money.

The client sounds like a real person: specific details, some hesitation, follow-up questions, and emotions that \
shift gradually rather than all at once. All figures are illustrative."""


def output_rules(consultant_name: str) -> str:
    return f"""OUTPUT FORMAT

Reply with JSON that follows the schema you were given: either ONE turn (one training pair) or one whole \
conversation (conversation_metadata and training_pairs), as the request below says. Use JSON numbers for \
numbers and true/false for flags. No markdown, no comments, nothing outside the JSON.

A whole conversation has conversation_metadata: conversation_id (the required id given below) and total_turns \
(the number of pairs), and training_pairs: one object per turn, in order.

A turn (training pair) is one client message and {consultant_name}'s reply to it, with these fields:
- id: "<conversation_id>_turn<n>"; conversation_id: the required id; turn_number: n (1, 2, 3, ...).
- conversation_metadata: client_persona (name, age, one-line description), client_background (the facts and \
figures of the situation), session_context, conversation_phase (a snake_case label), expected_outcome.
- system_prompt: the system prompt a fine-tuned model would receive: who {consultant_name} is and how she \
speaks, in the second person. The same text on every turn.
- conversation_history: every earlier message of this conversation, in order, exactly as written: for each \
earlier turn k an entry {{"turn": k, "role": "user", "content": <that client message>, "emotional_state": \
{{"primary", "secondary", "intensity"}}}} followed by {{"turn": k, "role": "assistant", "content": <that \
reply>, "strategy_applied": <short label>}}. Empty for turn 1; roles alternate user, assistant. When you \
write one turn on its own, send an empty list: the Studio fills it in from the earlier turns.
- current_user_input: the client's message for this turn, in complete sentences.
- emotional_context: detected_emotions (primary, primary_confidence, secondary, secondary_confidence, \
intensity, valence; confidences and intensity are numbers from 0 to 1); emotional_progression from turn 2 \
(previous_turn_primary, previous_turn_intensity, current_turn_primary, current_turn_intensity, trajectory, \
interpretation); emotional_indicators (a category name -> phrases quoted exactly from current_user_input); \
behavioral_assessment (risk_level, engagement_readiness, knowledge_level, trust_level, decision_readiness: \
short labels with a reason); client_needs_hierarchy (need, priority 1..n, rationale); red_flags when any \
(flag, implication, handling).
- response_strategy: primary_strategy (snake_case), primary_rationale, secondary_strategies, tone_selection, \
tone_rationale, pacing, tactical_choices (a tactic name -> true/false), avoid_tactics, specific_techniques \
(technique, application, purpose).
- target_response: {consultant_name}'s reply, {TARGET_WORDS_LOW}-{TARGET_WORDS_HIGH} words in 5-8 complete \
sentences, ending with a check-in question. Plain prose: no lists, no headings, no line breaks.
- response_breakdown: total_sentences = the number of sentences in target_response; sentences = one entry per \
sentence of target_response, in order, with sentence_number 1..n. Each "text" is that sentence copied \
character for character, so the texts joined with single spaces are exactly target_response. For each \
sentence: function, emotional_purpose, technique, teaches_model (the lesson for the model being trained), \
word_choice_rationale (3-6 entries: an exact phrase from that sentence -> why it was chosen), \
psychological_principle, stylistic_note.
- expected_user_response_patterns: positive_indicators, neutral_indicators, negative_indicators (what the \
client might say next).
- training_metadata: difficulty_level, key_learning_objective, demonstrates_skills, conversation_turn (= \
turn_number), emotional_progression_target, quality_score and quality_criteria (empathy_score, clarity_score, \
appropriateness_score, brand_voice_alignment, ... : honest numbers from 1 to 5), variation_guidance. Leave \
out human_reviewed, reviewer_notes and use_as_seed_example: people set those in review.

Every string ends where it should: no sentence is cut off, no text ends in a backslash or half an escape."""


def template_guidance(template: PromptTemplate) -> str:
    parts = [f"TEMPLATE: {template.template_name} ({template.template_id})"]
    if template.emotional_arc_pattern:
        parts.append(f"Emotional arc: {template.emotional_arc_pattern}")
    if template.structural_pattern_description:
        parts.append(f"Turn by turn: {template.structural_pattern_description}")
    if template.template_instructions:
        parts.append(f"Instructions:\n{template.template_instructions.strip()}")
    return "\n".join(parts)


def examples_text(examples: Sequence[Mapping[str, Any]]) -> str:
    blocks = [
        f"EXAMPLE {number} (the first turns of an approved seed conversation; use its format and voice, never "
        f"its client or its words):\n{json.dumps(trim_example(example), ensure_ascii=False)}"
        for number, example in enumerate(examples, start=1)
    ]
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------------------------------
# Building and estimating
# --------------------------------------------------------------------------------------------------


def build_prompt(
    template: PromptTemplate | ConversationTemplate | Mapping[str, Any],
    plan_row: PlanRow,
    examples: Sequence[Mapping[str, Any]],
    *,
    consultant_name: str = CONSULTANT_NAME,
) -> BuiltPrompt:
    """The prompt for ``plan_row`` from ``template`` (a templates.json entry or a template row).

    ``examples`` are 1-2 approved seed conversations in the seed format (see :func:`pick_examples`); each
    is trimmed to its first turns. Raises :class:`PromptError` before any API call when the template uses
    an unknown variable, the plan row lacks a value it needs, or no example is given.
    """
    spec = template if isinstance(template, PromptTemplate) else PromptTemplate.model_validate(template)
    if plan_row.turn_count_target > MAX_TURNS:
        raise PromptError(
            f"A conversation has at most {MAX_TURNS} turns; the plan row asks for {plan_row.turn_count_target}."
        )
    if not examples:
        raise PromptError(
            f"No approved seed conversation to show as an example for {plan_row.conversation_id}; approve a seed "
            f"that uses template {spec.template_id} or persona {plan_row.persona_type} first."
        )
    variables = plan_variables(plan_row, consultant_name=consultant_name)
    filled = fill_template(spec.template_prompt, variables, template_id=spec.template_id)
    chosen = list(examples[:MAX_EXAMPLES])

    static_prefix = "\n\n".join(
        [
            voice_rules(consultant_name),
            output_rules(consultant_name),
            template_guidance(spec),
            examples_text(chosen),
        ]
    )
    conversation_part = "\n\n".join(
        [
            "THIS CONVERSATION",
            filled,
            "\n".join(
                [
                    REQUIRED_ID_LINE.format(conversation_id=plan_row.conversation_id),
                    REQUIRED_TURNS_LINE.format(turns=plan_row.turn_count_target),
                    f"Pair ids: {plan_row.conversation_id}_turn1 ... "
                    f"{plan_row.conversation_id}_turn{plan_row.turn_count_target}",
                ]
            ),
        ]
    )
    return BuiltPrompt(
        static_prefix=static_prefix,
        conversation_part=conversation_part,
        variables={name: variables[name] for name in template_variables(spec.template_prompt)},
        conversation_id=plan_row.conversation_id,
        turn_count_target=plan_row.turn_count_target,
        template_id=spec.template_id,
        example_ids=[str(_pairs_of(example)[0].get("conversation_id")) for example in chosen],
        example_texts=shown_texts(chosen),
    )


def shown_texts(examples: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Every client message and reply of the example turns a prompt shows."""
    texts: list[str] = []
    for example in examples:
        for pair in trim_example(example)["training_pairs"]:
            for key in ("current_user_input", "target_response"):
                value = pair.get(key)
                if isinstance(value, str):
                    texts.append(value)
    return tuple(texts)


@dataclass(frozen=True, slots=True)
class Estimate:
    """What one conversation is expected to cost and take, before it is generated. Token counts are summed
    over its ``calls``; ``cached_prefix_tokens`` is the part of ``input_tokens`` that is the static prefix."""

    input_tokens: int
    cached_prefix_tokens: int
    output_tokens: int
    cost_low_cents: Decimal
    cost_high_cents: Decimal
    unpriced: bool
    seconds: float
    calls: int = 1


# The conversation so far, as a turn's call sees it (conversation_so_far), measured on our sample seeds:
# about 500 tokens of the first turn's shared fields, and 440-520 more per earlier turn (its two messages).
HISTORY_SHARED_TOKENS = 500
HISTORY_TOKENS_PER_TURN = 500


def history_tokens(earlier_turns: int) -> int:
    """Estimated tokens of the conversation so far after ``earlier_turns`` turns."""
    return 0 if earlier_turns <= 0 else HISTORY_SHARED_TOKENS + HISTORY_TOKENS_PER_TURN * earlier_turns


def estimate(
    prompt: BuiltPrompt,
    model: str,
    *,
    median_seconds: float | None = None,
    batch: bool = False,
    stored_turns: int = 0,
) -> Estimate:
    """Tokens at 4 characters each, priced for ``model``, for the calls the conversation will take.

    Live generation writes one call per turn (turns ``stored_turns + 1`` to the target): each call sends
    the static prefix (read from the prompt cache), the conversation part, the conversation so far
    (:func:`history_tokens`) and its turn brief, and writes about :data:`TURN_OUTPUT_TOKENS`. A Message
    Batches job (``batch``) asks for the whole conversation in one call, :data:`OUTPUT_TOKENS_PER_TURN`
    per turn, at the batch price.

    The low end reads the prefix from the cache on every call and writes :data:`OUTPUT_LOW_FACTOR` of the
    output; the high end writes the cache once and runs :data:`OUTPUT_HIGH_FACTOR` over. A repair round trip
    is not included. Time is ``median_seconds`` (the median of past generations) when given, else
    :data:`DEFAULT_SECONDS_PER_CONVERSATION`.
    """
    prefix_tokens = estimate_tokens(prompt.static_prefix)
    if batch:
        calls = 1
        rest_tokens = estimate_tokens(prompt.conversation_part)
        output_tokens = prompt.turn_count_target * OUTPUT_TOKENS_PER_TURN
    else:
        turns = range(stored_turns + 1, prompt.turn_count_target + 1)
        calls = len(turns)
        rest_tokens = 0
        for turn in turns:
            request = prompt.turn_request(turn, [])
            rest_tokens += estimate_tokens(request.conversation_part + request.instruction_text)
            rest_tokens += history_tokens(turn - 1)
        output_tokens = calls * TURN_OUTPUT_TOKENS
    cached_tokens = prefix_tokens * calls
    low = Usage(
        input_tokens=rest_tokens,
        cache_read_tokens=cached_tokens,
        output_tokens=int(output_tokens * OUTPUT_LOW_FACTOR),
    )
    high = Usage(
        input_tokens=rest_tokens,
        cache_write_tokens=prefix_tokens if calls else 0,
        cache_read_tokens=cached_tokens - prefix_tokens if calls else 0,
        output_tokens=int(output_tokens * OUTPUT_HIGH_FACTOR),
    )
    return Estimate(
        input_tokens=cached_tokens + rest_tokens,
        cached_prefix_tokens=cached_tokens,
        output_tokens=output_tokens,
        cost_low_cents=cost_cents(model, low, batch=batch).cents,
        cost_high_cents=cost_cents(model, high, batch=batch).cents,
        unpriced=price_for(model) is None,
        seconds=median_seconds if median_seconds is not None else DEFAULT_SECONDS_PER_CONVERSATION,
        calls=calls,
    )


# Text a filled template must never show: a value compared with a number ("If 4 is 3, ..."), a placeholder
# left unfilled, an empty value ("None", "()", ", ,"), or a word doubled by a value that repeats its frame.
ARTEFACTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a number compared with a number", re.compile(r"\b\d+(?:\.\d+)? (?:is|equals|==) \d+(?:\.\d+)?\b")),
    ("'if it is <number>' about a value already filled in", re.compile(r"\bif it is \d+\b", re.IGNORECASE)),
    ("an unfilled placeholder", re.compile(r"\{\{|\}\}")),
    ("an empty value", re.compile(r"\b(?:None|null|nan)\b|\(\s*\)|,\s*,")),
    ("a doubled word", re.compile(r"\b(\w{3,}) \1\b", re.IGNORECASE)),
)


def prompt_artefacts(text: str) -> list[str]:
    """What in a rendered prompt reads as template machinery rather than a sentence a model can follow:
    ``"<kind>: <the text around it>"`` for each place (empty when it reads cleanly)."""
    found = []
    for kind, pattern in ARTEFACTS:
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 30), min(len(text), match.end() + 30)
            found.append(f"{kind}: …{text[start:end]}…")
    return found
