"""Pacing: pure decisions on a state and a time, the asyncio Pacer on a fake clock, and one real-HTTP run."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.conftest import TEST_MODEL
from tests.unit.llm.replies import a_reply
from training_data_studio.core.config import Settings
from training_data_studio.generation.generate import generate_conversation
from training_data_studio.generation.prompts import BuiltPrompt
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.llm.base import (
    Overloaded,
    ProviderError,
    ProviderRefused,
    ProviderReply,
    RateLimited,
    RateLimitInfo,
    ServerError,
)
from training_data_studio.llm.pacing import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    DEFAULT_MAX_CALLS_IN_FLIGHT,
    START_JITTER_SECONDS,
    PacedProvider,
    Pacer,
    PacingState,
    backoff_delay,
    next_start,
    observe_rate_limited,
    observe_rate_limits,
    reserve,
)
from training_data_studio.plan.service import PlanRow
from training_data_studio.testing.fake_anthropic import FakeAnthropic

NOW = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


class HighRng(random.Random):
    """Jitter always at its upper bound, to test the ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


class LowRng(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


# --------------------------------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------------------------------


def test_with_nothing_known_a_call_starts_now() -> None:
    assert next_start(PacingState(), NOW, input_tokens=10**6, output_tokens=10**6) == NOW


def test_a_block_holds_every_call_until_it_ends() -> None:
    state = PacingState(blocked_until=at(30))
    assert next_start(state, NOW) == at(30)
    assert next_start(state, at(30)) == at(30)
    assert next_start(state, at(31)) == at(31)


def test_no_requests_left_waits_for_the_reset() -> None:
    state = PacingState(requests_remaining=0, requests_reset=at(12))
    assert next_start(state, NOW) == at(12)
    assert next_start(PacingState(requests_remaining=1, requests_reset=at(12)), NOW) == NOW


def test_a_budget_past_its_reset_is_unknown() -> None:
    state = PacingState(
        requests_remaining=0, requests_reset=at(-1), input_tokens_remaining=0, input_tokens_reset=at(-1)
    )
    assert next_start(state, NOW, input_tokens=500) == NOW
    assert next_start(PacingState(requests_remaining=0), NOW) == NOW  # no reset time: cannot wait for it


def test_token_budgets_hold_a_call_that_would_not_fit() -> None:
    state = PacingState(
        input_tokens_remaining=20_000,
        input_tokens_reset=at(5),
        output_tokens_remaining=8_000,
        output_tokens_reset=at(40),
    )
    assert next_start(state, NOW, input_tokens=20_000, output_tokens=8_000) == NOW
    assert next_start(state, NOW, input_tokens=20_001) == at(5)
    assert next_start(state, NOW, input_tokens=25_000, output_tokens=9_000) == at(40)


def test_reserve_spends_known_budgets_only() -> None:
    state = PacingState(
        requests_remaining=2,
        requests_reset=at(10),
        input_tokens_remaining=1_000,
        input_tokens_reset=at(10),
        output_tokens_remaining=None,
    )
    after = reserve(state, NOW, input_tokens=1_500, output_tokens=700)
    assert after.requests_remaining == 1
    assert after.input_tokens_remaining == 0  # never negative
    assert after.output_tokens_remaining is None
    assert after.updated_at == NOW
    assert reserve(after, at(11)).requests_remaining is None  # past the reset


def test_two_callers_starting_together_do_not_spend_the_same_request() -> None:
    state = PacingState(requests_remaining=1, requests_reset=at(20))
    assert next_start(state, NOW) == NOW
    state = reserve(state, NOW)
    assert next_start(state, NOW) == at(20)


def test_observe_rate_limits_adopts_what_was_reported() -> None:
    state = PacingState(
        requests_remaining=5, requests_reset=at(10), output_tokens_remaining=100, output_tokens_reset=at(9)
    )
    info = RateLimitInfo(
        requests_remaining=3, requests_reset=at(11), input_tokens_remaining=900, input_tokens_reset=at(8)
    )
    after = observe_rate_limits(state, info, NOW)
    assert (after.requests_remaining, after.requests_reset) == (3, at(11))
    assert (after.input_tokens_remaining, after.input_tokens_reset) == (900, at(8))
    assert (after.output_tokens_remaining, after.output_tokens_reset) == (100, at(9))  # not reported: kept
    assert after.blocked_until is None
    assert observe_rate_limits(state, RateLimitInfo(retry_after=4), NOW).blocked_until == at(4)


def test_a_429_blocks_until_retry_after_or_the_fallback() -> None:
    blocked = observe_rate_limited(PacingState(), RateLimited("slow down", retry_after=15), NOW, fallback_seconds=3)
    assert blocked.blocked_until == at(15)
    fallback = observe_rate_limited(PacingState(), RateLimited("slow down", retry_after=None), NOW, fallback_seconds=3)
    assert fallback.blocked_until == at(3)
    # a shorter block never shortens a longer one
    longer = observe_rate_limited(
        PacingState(blocked_until=at(60)), RateLimited("x", retry_after=5), NOW, fallback_seconds=1
    )
    assert longer.blocked_until == at(60)


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    assert [backoff_delay(attempt, HighRng()) for attempt in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(1, HighRng()) == BACKOFF_BASE_SECONDS
    assert backoff_delay(30, HighRng()) == BACKOFF_CAP_SECONDS
    assert backoff_delay(5, LowRng()) == 0
    rng = random.Random(7)
    delays = [backoff_delay(4, rng) for _ in range(200)]
    assert all(0 <= delay <= 16 for delay in delays)
    assert max(delays) - min(delays) > 8  # spread out, not a fixed wait


def test_state_round_trips_through_a_row() -> None:
    state = PacingState(
        blocked_until=at(30),
        requests_remaining=7,
        requests_reset=at(10),
        input_tokens_remaining=1,
        input_tokens_reset=at(2),
        output_tokens_remaining=3,
        output_tokens_reset=at(4),
        updated_at=NOW,
    )
    row = state.to_row()
    assert set(row) == {
        "blocked_until",
        "requests_remaining",
        "requests_reset",
        "input_tokens_remaining",
        "input_tokens_reset",
        "output_tokens_remaining",
        "output_tokens_reset",
        "requests_limit",
        "input_tokens_limit",
        "output_tokens_limit",
        "updated_at",
    }
    assert PacingState.from_row(row) == state
    assert PacingState.from_row({"id": 1, "blocked_until": None}) == PacingState()


# --------------------------------------------------------------------------------------------------
# Pacer on a fake clock
# --------------------------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def scripted(
    answers: list[ProviderReply | ProviderError], calls: list[datetime], time: FakeTime
) -> Callable[[], object]:
    async def make_call() -> ProviderReply:
        calls.append(time.now)
        answer = answers.pop(0)
        if isinstance(answer, ProviderError):
            raise answer
        return answer

    return make_call


async def test_pacer_waits_out_a_429_then_succeeds() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep, rng=LowRng())
    calls: list[datetime] = []
    answers: list[ProviderReply | ProviderError] = [RateLimited("slow", retry_after=20), a_reply()]
    reply = await pacer.call(scripted(answers, calls, time))  # type: ignore[arg-type]
    assert reply.stop_reason == "tool_use"
    assert calls == [NOW, at(20)]
    assert pacer.state.blocked_until == at(20)


async def test_a_429_holds_other_callers_too() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep, rng=HighRng())
    pacer.state = observe_rate_limited(pacer.state, RateLimited("x", retry_after=10), NOW, fallback_seconds=1)
    calls: list[datetime] = []
    await pacer.call(scripted([a_reply()], calls, time))  # type: ignore[arg-type]
    # released at the end of the block, plus up to START_JITTER_SECONDS so callers do not start in one burst
    assert calls == [at(10 + START_JITTER_SECONDS)]


async def test_pacer_backs_off_on_529_and_5xx() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep, rng=HighRng())
    calls: list[datetime] = []
    answers: list[ProviderReply | ProviderError] = [Overloaded("busy"), ServerError("oops", status=502), a_reply()]
    await pacer.call(scripted(answers, calls, time))  # type: ignore[arg-type]
    assert time.sleeps == [2.0, 4.0]
    assert calls == [NOW, at(2), at(6)]
    assert pacer.state.blocked_until is None  # overload does not block other callers


async def test_pacer_gives_up_after_max_attempts() -> None:
    time = FakeTime()
    pacer = Pacer(max_attempts=3, clock=time.clock, sleep=time.sleep, rng=LowRng())
    calls: list[datetime] = []
    answers: list[ProviderReply | ProviderError] = [Overloaded("1"), Overloaded("2"), Overloaded("3"), a_reply()]
    with pytest.raises(Overloaded, match="3"):
        await pacer.call(scripted(answers, calls, time))  # type: ignore[arg-type]
    assert len(calls) == 3


async def test_pacer_does_not_retry_a_refusal() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep)
    calls: list[datetime] = []
    with pytest.raises(ProviderRefused):
        await pacer.call(scripted([ProviderRefused("bad key", status=401), a_reply()], calls, time))  # type: ignore[arg-type]
    assert len(calls) == 1


async def test_pacer_learns_budgets_from_replies() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep, rng=LowRng())
    calls: list[datetime] = []
    info = RateLimitInfo(requests_remaining=1, requests_reset=at(30))
    answers: list[ProviderReply | ProviderError] = [a_reply(info), a_reply(), a_reply()]
    await pacer.call(scripted(answers, calls, time))  # type: ignore[arg-type]
    await pacer.call(scripted(answers, calls, time))  # type: ignore[arg-type]  # spends the last request
    await pacer.call(scripted(answers, calls, time))  # type: ignore[arg-type]  # waits for the reset
    assert calls == [NOW, NOW, at(30)]


async def test_pacer_caps_calls_in_flight() -> None:
    pacer = Pacer(max_in_flight=3)

    async def slow_call() -> ProviderReply:
        await asyncio.sleep(0.01)
        return a_reply()

    await asyncio.gather(*(pacer.call(slow_call) for _ in range(12)))
    assert pacer.peak_in_flight == 3
    assert pacer.in_flight == 0
    assert Pacer().max_in_flight == DEFAULT_MAX_CALLS_IN_FLIGHT
    assert Pacer.from_settings(Settings(_env_file=None, TDS_MAX_CALLS_IN_FLIGHT=3)).max_in_flight == 3
    with pytest.raises(ValueError, match="at least 1"):
        Pacer(max_in_flight=0)


# --------------------------------------------------------------------------------------------------
# Over real HTTP
# --------------------------------------------------------------------------------------------------


async def test_paced_generation_against_a_rate_limited_fake(
    start_fake_anthropic: Callable[..., FakeAnthropic],
    make_prompt: Callable[[PlanRow], BuiltPrompt],
    plan_rows: list[PlanRow],
) -> None:
    """Six conversations, at most two calls in flight, three requests a second (a bucket), some 529s: every
    conversation comes back, hardly a 429 (the first call tells the limit, the bucket paces the rest) and
    the cap holds."""
    fake = start_fake_anthropic(
        requests_per_minute=3,
        window_seconds=1.0,
        latency_seconds=0.02,
        latency_jitter_seconds=0.01,
        script=["overloaded"],
    )
    # One turn each, so that there are six calls, as many as the budget of two sliding seconds.
    rows = [row.model_copy(update={"turn_count_target": 1}) for row in plan_rows if not row.is_seed_example][:6]
    provider = AnthropicProvider(api_key="test-key", model=TEST_MODEL, base_url=fake.url)
    # The fake's limits are per second, so the pacer's buckets refill over a second too.
    paced = PacedProvider(provider, Pacer(max_in_flight=2, rng=random.Random(3), window_seconds=1.0))
    try:
        outcomes = await asyncio.gather(*(generate_conversation(paced, make_prompt(row), row) for row in rows))
    finally:
        await paced.aclose()
    assert [outcome.conversation.training_pairs[0].conversation_id for outcome in outcomes] == [
        row.conversation_id for row in rows
    ]
    assert fake.counters.max_in_flight <= 2
    assert fake.counters.overloaded == 1
    assert fake.counters.rate_limited <= 1  # the pacer's request bucket follows the fake's (0 when run here)
    assert fake.counters.calls == 6 + fake.counters.overloaded + fake.counters.rate_limited
