"""One conversation: a call, at most one repair round trip, every raw reply kept."""

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
from training_data_studio.generation.prompts import BuiltPrompt
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.llm.base import (
    GenerationRequest,
    Overloaded,
    ProviderError,
    ProviderReply,
    Usage,
)
from training_data_studio.plan.service import PlanRow
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import faulty_conversation


class ScriptedProvider:
    """A provider that answers from a list of replies (or raises listed errors) and records requests."""

    name = "scripted"
    model = TEST_MODEL

    def __init__(self, answers: list[ProviderReply | ProviderError]) -> None:
        self.answers = answers
        self.requests: list[GenerationRequest] = []

    async def generate(self, request: GenerationRequest) -> ProviderReply:
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


def conversation(plan_row: PlanRow, outcome: str = "ok") -> dict[str, Any]:
    return faulty_conversation(outcome, plan_row.conversation_id, plan_row.turn_count_target)


async def test_a_valid_first_reply_is_the_outcome(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider([reply(conversation(plan_row), number=1)])
    outcome = await generate_conversation(provider, prompt, plan_row, clock=ticking_clock())
    assert outcome.conversation.training_pairs[0].conversation_id == plan_row.conversation_id
    assert len(outcome.attempts) == 1
    assert not outcome.repaired
    assert outcome.raw_replies == ["raw 1"]
    assert outcome.usage == Usage(input_tokens=100, output_tokens=1000, cache_read_tokens=10, cache_write_tokens=1)
    assert outcome.duration_seconds == 1.5
    assert outcome.model == TEST_MODEL
    assert outcome.cost().cents > 0


async def test_an_invalid_reply_gets_one_repair_round_trip(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider(
        [reply(conversation(plan_row, "invalid"), number=1), reply(conversation(plan_row), number=2)]
    )
    outcome = await generate_conversation(provider, prompt, plan_row)
    assert outcome.repaired
    assert [attempt.number for attempt in outcome.attempts] == [1, 2]
    assert outcome.attempts[0].problems
    assert not outcome.attempts[1].problems
    assert outcome.raw_replies == ["raw 1", "raw 2"]
    assert outcome.usage.output_tokens == 3000
    first, repair = provider.requests
    assert first.repair is None
    assert repair.repair is not None
    assert repair.repair.previous_output == "output 1"
    assert "$.training_pairs[0].target_response: is required but missing" in repair.repair.problems
    assert repair.conversation_part == first.conversation_part


async def test_still_invalid_after_the_repair_fails_with_both_raw_replies(
    prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    provider = ScriptedProvider(
        [reply(conversation(plan_row, "invalid"), number=1), reply(conversation(plan_row, "dangling_escape"), number=2)]
    )
    with pytest.raises(InvalidOutput) as caught:
        await generate_conversation(provider, prompt, plan_row, clock=ticking_clock())
    error = caught.value
    assert error.raw_replies == ["raw 1", "raw 2"]
    assert [problem.code for problem in error.problems] == ["dangling_escape"]  # the last attempt's problems
    assert error.usage.output_tokens == 3000
    assert error.duration_seconds == 1.5
    assert error.code == "invalid_output"
    assert error.status == 502
    assert plan_row.conversation_id in error.message
    assert len(provider.requests) == 2


async def test_a_truncated_reply_is_not_sent_back(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider(
        [
            reply(conversation(plan_row, "truncated"), number=1, stop_reason="max_tokens"),
            reply(conversation(plan_row), number=2),
        ]
    )
    outcome = await generate_conversation(provider, prompt, plan_row)
    assert outcome.repaired
    repair = provider.requests[1].repair
    assert repair is not None
    assert repair.previous_output == TRUNCATED_OUTPUT_NOTE
    assert "cut off at the output limit" in repair.problems


async def test_max_repairs_zero_fails_after_one_call(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider([reply(conversation(plan_row, "invalid"), number=1)])
    with pytest.raises(InvalidOutput) as caught:
        await generate_conversation(provider, prompt, plan_row, max_repairs=0)
    assert len(caught.value.attempts) == 1


async def test_a_provider_error_during_the_repair_keeps_the_first_reply(prompt: BuiltPrompt, plan_row: PlanRow) -> None:
    provider = ScriptedProvider([reply(conversation(plan_row, "invalid"), number=1), Overloaded("busy", status=529)])
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
    assert outcome.duration_seconds > 0
    assert fake.counters.calls == 1


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
    assert "quality_score" in repair_messages[2]["content"]


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
