"""One conversation, turn by turn: a call per turn, at most one repair round trip per turn (for that turn
only), every raw reply kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.conftest import TEST_MODEL
from training_data_studio.generation.generate import (
    TRUNCATED_OUTPUT_NOTE,
    InvalidOutput,
    ProviderFailed,
    generate_conversation,
)
from training_data_studio.generation.prompts import TURN_MAX_OUTPUT_TOKENS, BuiltPrompt
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.llm.base import (
    GenerationRequest,
    LimitsHeard,
    Overloaded,
    Progress,
    ProviderError,
    ProviderReply,
    Usage,
)
from training_data_studio.plan.service import PlanRow
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import faulty_pair


class ScriptedProvider:
    """A provider that answers from a list of replies (or raises listed errors) and records requests."""

    name = "scripted"
    model = TEST_MODEL

    def __init__(self, answers: list[ProviderReply | ProviderError]) -> None:
        self.answers = answers
        self.requests: list[GenerationRequest] = []

    async def generate(
        self, request: GenerationRequest, *, on_progress: Progress | None = None, on_limits: LimitsHeard | None = None
    ) -> ProviderReply:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, ProviderError):
            raise answer
        return answer

    async def aclose(self) -> None:
        return None


def reply(data: dict[str, Any] | None, *, number: int, stop_reason: str = "tool_use") -> ProviderReply:
    return ProviderReply(
        data=data,
        output_text=f"output {number}",
        raw_response=f"raw {number}",
        stop_reason=stop_reason,
        usage=Usage(input_tokens=100 * number, output_tokens=1000 * number, cache_read_tokens=10, cache_write_tokens=1),
        model=TEST_MODEL,
    )


def ticking_clock(step: float = 1.5) -> Callable[[], float]:
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def turn(plan_row: PlanRow, number: int, outcome: str = "ok") -> dict[str, Any]:
    return faulty_pair(outcome, plan_row.conversation_id, number)


def turns(plan_row: PlanRow, *, first: int = 1, number: int = 1) -> list[ProviderReply | ProviderError]:
    """Valid replies for turns ``first``..n, numbered from ``number``."""
    return [
        reply(turn(plan_row, index), number=number + offset)
        for offset, index in enumerate(range(first, plan_row.turn_count_target + 1))
    ]


async def test_valid_turns_are_the_outcome(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider(turns(plan_row))
    outcome = await generate_conversation(provider, prompt, plan_row, clock=ticking_clock())
    pairs = outcome.conversation.training_pairs
    assert [pair.turn_number for pair in pairs] == [1, 2, 3, 4]
    assert {pair.conversation_id for pair in pairs} == {plan_row.conversation_id}
    assert [attempt.part for attempt in outcome.attempts] == [f"turn {n} of 4" for n in (1, 2, 3, 4)]
    assert not outcome.repaired
    assert outcome.raw_replies == ["raw 1", "raw 2", "raw 3", "raw 4"]
    assert outcome.usage == Usage(input_tokens=1000, output_tokens=10000, cache_read_tokens=40, cache_write_tokens=4)
    assert outcome.duration_seconds == 1.5
    assert outcome.model == TEST_MODEL
    assert outcome.cost().cents > 0
    assert outcome.conversation.conversation_metadata.total_turns == 4


async def test_each_turn_sees_the_conversation_so_far_and_gets_its_history(
    prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    provider = ScriptedProvider(turns(plan_row))
    outcome = await generate_conversation(provider, prompt, plan_row)
    pairs = outcome.conversation.training_pairs
    third = provider.requests[2]
    assert "Required turn: 3 of 4" in third.conversation_part
    assert pairs[0].target_response in third.conversation_part
    assert pairs[1].current_user_input in third.conversation_part
    assert pairs[2].target_response not in third.conversation_part
    assert all(request.static_prefix == prompt.static_prefix for request in provider.requests)
    assert all(request.max_output_tokens == TURN_MAX_OUTPUT_TOKENS for request in provider.requests)
    history = pairs[2].conversation_history
    assert [(entry.turn, entry.role) for entry in history] == [
        (1, "user"),
        (1, "assistant"),
        (2, "user"),
        (2, "assistant"),
    ]
    assert history[3].content == pairs[1].target_response


async def test_a_failing_turn_is_repaired_alone(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider(
        [
            reply(turn(plan_row, 1), number=1),
            reply(turn(plan_row, 2, "invalid"), number=2),
            reply(turn(plan_row, 2), number=3),
            *turns(plan_row, first=3, number=4),
        ]
    )
    outcome = await generate_conversation(provider, prompt, plan_row)
    assert outcome.repaired
    assert [(a.part, a.repair, a.accepted) for a in outcome.attempts] == [
        ("turn 1 of 4", False, True),
        ("turn 2 of 4", False, False),
        ("turn 2 of 4", True, True),
        ("turn 3 of 4", False, True),
        ("turn 4 of 4", False, True),
    ]
    failed, repair = provider.requests[1], provider.requests[2]
    assert failed.repair is None
    assert repair.repair is not None
    assert repair.repair.previous_output == "output 2"  # only that turn goes back, not the conversation
    assert "$.training_pairs[1].target_response: is required but missing" in repair.repair.problems
    assert repair.conversation_part == failed.conversation_part
    assert "Required turn: 2 of 4" in repair.conversation_part


async def test_still_invalid_after_the_repair_fails_with_every_raw_reply(
    prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    provider = ScriptedProvider(
        [
            reply(turn(plan_row, 1), number=1),
            reply(turn(plan_row, 2, "invalid"), number=2),
            reply(turn(plan_row, 2, "dangling_escape"), number=3),
        ]
    )
    with pytest.raises(InvalidOutput) as caught:
        await generate_conversation(provider, prompt, plan_row, clock=ticking_clock())
    error = caught.value
    assert error.raw_replies == ["raw 1", "raw 2", "raw 3"]
    assert [problem.code for problem in error.problems] == ["dangling_escape"]  # the last attempt's problems
    assert error.usage.output_tokens == 6000
    assert error.duration_seconds == 1.5
    assert error.code == "invalid_output"
    assert error.status == 502
    assert plan_row.conversation_id in error.message
    assert len(provider.requests) == 3


async def test_a_truncated_reply_is_not_sent_back(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider(
        [
            reply(turn(plan_row, 1, "truncated"), number=1, stop_reason="max_tokens"),
            *turns(plan_row, number=2),
        ]
    )
    outcome = await generate_conversation(provider, prompt, plan_row)
    assert outcome.repaired
    repair = provider.requests[1].repair
    assert repair is not None
    assert repair.previous_output == TRUNCATED_OUTPUT_NOTE
    assert "cut off at the output limit" in repair.problems


async def test_max_repairs_zero_fails_after_one_call(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider([reply(turn(plan_row, 1, "invalid"), number=1)])
    with pytest.raises(InvalidOutput) as caught:
        await generate_conversation(provider, prompt, plan_row, max_repairs=0)
    assert len(caught.value.attempts) == 1


async def test_a_provider_error_during_the_repair_keeps_the_first_reply(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider([reply(turn(plan_row, 1, "invalid"), number=1), Overloaded("busy", status=529)])
    with pytest.raises(ProviderFailed) as caught:
        await generate_conversation(provider, prompt, plan_row)
    error = caught.value
    assert isinstance(error.cause, Overloaded)
    assert error.retryable
    assert error.raw_replies == ["raw 1"]
    assert error.usage.input_tokens == 100
    assert error.code == "provider_failed"


async def test_a_provider_error_on_the_first_call_has_no_attempts(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider([Overloaded("busy", status=529)])
    with pytest.raises(ProviderFailed) as caught:
        await generate_conversation(provider, prompt, plan_row)
    assert caught.value.attempts == []


# --------------------------------------------------------------------------------------------------
# Over real HTTP
# --------------------------------------------------------------------------------------------------


async def _run(fake: FakeAnthropic, prompt: BuiltPrompt, plan_row: PlanRow) -> Any:
    provider = AnthropicProvider(api_key="test-key", model=TEST_MODEL, base_url=fake.url)
    try:
        return await generate_conversation(provider, prompt, plan_row)
    finally:
        await provider.aclose()


async def test_over_http_a_valid_conversation_comes_back(
    start_fake_anthropic: Callable[..., FakeAnthropic], prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    fake = start_fake_anthropic()
    outcome = await _run(fake, prompt, plan_row)
    assert len(outcome.conversation.training_pairs) == plan_row.turn_count_target
    assert outcome.usage.cache_write_tokens > 0
    assert outcome.usage.cache_read_tokens > 0  # turns 2.. read the static prefix from the cache
    assert outcome.duration_seconds > 0
    assert fake.counters.calls == plan_row.turn_count_target
    assert [request["tools"][0]["name"] for request in fake.requests] == ["record_turn"] * 4


async def test_over_http_invalid_output_is_repaired_once_then_fails(
    start_fake_anthropic: Callable[..., FakeAnthropic], prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    fake = start_fake_anthropic(script=["invalid", "invalid"])
    with pytest.raises(InvalidOutput) as caught:
        await _run(fake, prompt, plan_row)
    error = caught.value
    assert fake.counters.calls == 2
    assert len(error.raw_replies) == 2
    assert all('"type":"tool_use"' in raw.replace(" ", "") for raw in error.raw_replies)
    assert error.usage.cache_write_tokens > 0
    assert error.usage.cache_read_tokens > 0
    repair_messages = fake.requests[1]["messages"]
    assert [message["role"] for message in repair_messages] == ["user", "assistant", "user"]
    assert "target_response" in repair_messages[2]["content"]
    assert "this one training pair only" in repair_messages[2]["content"]


@pytest.mark.parametrize("fault", ["truncated", "dangling_escape"])
async def test_over_http_cut_off_turns_are_rejected_then_repaired(
    start_fake_anthropic: Callable[..., FakeAnthropic], prompt: BuiltPrompt, plan_row: PlanRow, fault: str
) -> None:
    fake = start_fake_anthropic(script=[fault, "ok"])
    outcome = await _run(fake, prompt, plan_row)
    assert outcome.repaired
    codes = {problem.code for problem in outcome.attempts[0].problems}
    assert codes & {"truncated", "ends_mid_sentence", "dangling_escape"}
    assert not outcome.attempts[1].problems


async def test_a_completion_writes_only_the_turns_after_the_stored_ones(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    first = await generate_conversation(ScriptedProvider(turns(plan_row)), prompt, plan_row)
    stored = first.conversation.training_pairs[:2]
    provider = ScriptedProvider(turns(plan_row, first=3))

    outcome = await generate_conversation(provider, prompt, plan_row, stored=stored)

    assert outcome.stored_turns == 2
    assert [pair.turn_number for pair in outcome.new_pairs] == [3, 4]
    assert [pair.turn_number for pair in outcome.conversation.training_pairs] == [1, 2, 3, 4]
    assert [attempt.part for attempt in outcome.attempts] == ["turn 3 of 4", "turn 4 of 4"]
    assert stored[1].target_response in provider.requests[0].conversation_part
    assert [(e.turn, e.role) for e in outcome.new_pairs[0].conversation_history] == [
        (1, "user"),
        (1, "assistant"),
        (2, "user"),
        (2, "assistant"),
    ]
    assert "already written" not in provider.requests[0].conversation_part


async def test_a_completion_answers_the_client_message_the_conversation_ends_on(
    prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    first = await generate_conversation(ScriptedProvider(turns(plan_row)), prompt, plan_row)
    stored = first.conversation.training_pairs[:1]
    waiting = "An invented message that waits for its reply."
    provider = ScriptedProvider(turns(plan_row, first=2))

    outcome = await generate_conversation(provider, prompt, plan_row, stored=stored, open_message=waiting)

    first_new = outcome.new_pairs[0]
    assert first_new.current_user_input == waiting  # what the model wrote there is replaced, and recorded
    (change,) = [n for n in outcome.attempts[0].normalisations if n.code == "given_client_message"]
    assert (change.path, change.after) == ("$.training_pairs[1].current_user_input", waiting)
    assert waiting in provider.requests[0].conversation_part
    assert "already written" not in provider.requests[1].conversation_part
    assert outcome.new_pairs[1].current_user_input != waiting
