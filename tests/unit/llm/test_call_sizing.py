"""How many calls (and so conversations) at once the account's limits keep busy, and the pacer letting the
others go as soon as the first reply's headers arrive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.conftest import TEST_MODEL
from tests.unit.llm.replies import a_reply
from training_data_studio.generation import capacity
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.llm.base import GenerationRequest, ProviderReply, RateLimitInfo, estimate_tokens
from training_data_studio.llm.pacing import (
    BUSY_HEADROOM,
    CallSizes,
    PacedProvider,
    Pacer,
    PacingState,
    calls_kept_busy,
    calls_room,
    calls_wanted,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.rate_buckets import HIGH_TIER, LOW_TIER, Limits

NOW = datetime(2026, 12, 4, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def turn_calls() -> CallSizes:
    """Calls as turn-by-turn generation makes them: 3,000 tokens of input and 7,000 reserved for output, of
    which 3,000 are written in 50 s (60 tokens a second)."""
    sizes = CallSizes()
    sizes.start(input_tokens=3_000, output_reserved=7_000)
    sizes.end(seconds=50.0, output_used=3_000)
    return sizes


def limits_of(tier: Limits, *, output_tokens_reset: datetime | None = None) -> PacingState:
    return PacingState(
        requests_limit=tier.requests_per_minute,
        input_tokens_limit=tier.input_tokens_per_minute,
        output_tokens_limit=tier.output_tokens_per_minute,
        output_tokens_reset=output_tokens_reset,
    )


def test_nothing_is_wanted_before_a_limit_and_a_call_are_known() -> None:
    assert calls_wanted(PacingState(), NOW, turn_calls(), in_flight=0) is None
    assert calls_wanted(limits_of(LOW_TIER), NOW, CallSizes(), in_flight=0) is None


def test_a_low_tier_keeps_three_calls_busy() -> None:
    # 8,000 output tokens a minute at 3,000 a call: 2.67 calls a minute, each 50 s long, so 2.2 in flight
    # (x 1.25 headroom); the output bucket is empty now (full again in a minute), so no room for a burst.
    state = limits_of(LOW_TIER, output_tokens_reset=at(60))
    assert calls_kept_busy(state, turn_calls()) == 3
    assert calls_room(state, NOW, turn_calls()) == 0
    assert calls_wanted(state, NOW, turn_calls(), in_flight=1) == 3


def test_a_high_tier_keeps_a_hundred_and_more_busy() -> None:
    # 400,000 output tokens a minute at 3,000 a call: 2.22 calls a second x 50 s x 1.25 = 139 (requests and
    # input allow far more); its full buckets would start 56 calls reserving 7,000 output tokens at once.
    state = limits_of(HIGH_TIER)
    assert calls_kept_busy(state, turn_calls()) == pytest.approx(400_000 / 3_000 / 60 * 50 * BUSY_HEADROOM, abs=1)
    assert calls_room(state, NOW, turn_calls()) == 56
    assert calls_wanted(state, NOW, turn_calls(), in_flight=0) == 139


def test_full_buckets_ask_for_their_burst_before_a_call_has_ended() -> None:
    """60 requests a minute, the first reply's headers heard while it streams: the bucket holds 59 more, 57
    of them with the pacer's 2 % margin, which is what the first minute is worth; nothing is known yet of
    how long a call takes."""
    sizes = CallSizes()
    sizes.start(input_tokens=3_000, output_reserved=7_000)
    state = PacingState(requests_limit=60, requests_remaining=59, requests_reset=at(1))
    assert calls_room(state, NOW, sizes) == 57
    assert calls_wanted(state, NOW, sizes, in_flight=1) == 58


def test_a_429_block_leaves_no_room() -> None:
    state = PacingState(requests_limit=60, blocked_until=at(5))
    assert calls_room(state, NOW, turn_calls()) == 0


async def test_conversations_grow_in_steps_and_never_shrink() -> None:
    pacer = Pacer(None)
    provider = PacedProvider(AnthropicProvider(api_key="k", model=TEST_MODEL), pacer)
    assert await capacity.conversations_wanted(provider, 4) == 4  # nothing heard yet
    pacer.state = limits_of(LOW_TIER, output_tokens_reset=pacer._clock() + timedelta(seconds=60))
    pacer.sizes = turn_calls()
    assert await capacity.conversations_wanted(provider, 4) == 4  # three wanted: rounded up to a step, which is 4
    assert await capacity.conversations_wanted(provider, 8) == 8  # never fewer than are running
    pacer.state = limits_of(HIGH_TIER)
    assert await capacity.conversations_wanted(provider, 4) == 128  # 139 wanted, at most the ceiling
    assert await capacity.conversations_wanted(None, 4) == 4  # no provider: nothing to size from
    await provider.aclose()


async def test_the_conversations_follow_the_limits_as_they_are_heard() -> None:
    pacer = Pacer(None, window_seconds=0.6)  # checks every 10 ms
    provider = PacedProvider(AnthropicProvider(api_key="k", model=TEST_MODEL), pacer)
    sizes: list[int] = []
    grower = asyncio.create_task(capacity.grow_with_the_limits(provider, sizes.append))
    await asyncio.sleep(0.05)
    assert sizes == [capacity.INITIAL_CONVERSATIONS_AT_ONCE]
    full_soon = pacer._clock() + timedelta(seconds=0.001)  # 59.9 of 60 requests there
    pacer.state = PacingState(requests_limit=60, requests_remaining=59, requests_reset=full_soon)
    pacer.sizes.start(input_tokens=100, output_reserved=1_000)
    await asyncio.sleep(0.05)
    grower.cancel()
    assert sizes[0] == capacity.INITIAL_CONVERSATIONS_AT_ONCE
    assert sizes[1] == 60  # the bucket's room of 58, rounded up to a step
    await provider.aclose()


class StreamedCalls:
    """Calls that tell the pacer their headers as their stream opens, as the Anthropic provider does, then
    write until released."""

    def __init__(self, pacer: Pacer, info: RateLimitInfo) -> None:
        self.pacer = pacer
        self.info = info
        self.started = 0
        self.release = asyncio.Event()

    async def call(self) -> ProviderReply:
        self.started += 1
        await self.pacer.limits_heard(self.info)
        await self.release.wait()
        return a_reply(self.info)

    async def run(self, count: int) -> int:
        """Start ``count`` calls; how many had started before the first was released; then let all end."""
        calls = [asyncio.create_task(self.pacer.call(self.call, output_tokens=7_000)) for _ in range(count)]
        for _ in range(50):
            await asyncio.sleep(0)
        started = self.started
        self.release.set()
        await asyncio.gather(*calls)
        assert self.started == count
        return started


async def test_the_first_calls_headers_let_the_others_go_before_it_ends() -> None:
    """On a real account the first reply takes a minute to write and tells the limits in its first second:
    the callers held behind it start on its headers, not on its end."""
    info = RateLimitInfo(requests_limit=4_000, input_tokens_limit=2_000_000, output_tokens_limit=400_000)
    assert await StreamedCalls(Pacer(8), info).run(6) == 6  # all going while the first is still writing


async def test_headers_without_limits_keep_the_others_waiting() -> None:
    # A server that sends no rate-limit headers: the others wait for the first call's end, as before.
    assert await StreamedCalls(Pacer(8), RateLimitInfo()).run(3) == 1


class RecordingPacer(Pacer):
    """A pacer that remembers the uncached input each call reserved (what PacedProvider decided)."""

    def __init__(self) -> None:
        super().__init__(8)
        self.reserved_input: list[int] = []

    async def call(self, make_call: Any, *, input_tokens: Any = 0, output_tokens: int = 0) -> ProviderReply:
        def recorded() -> int:
            value = int(input_tokens() if callable(input_tokens) else input_tokens)
            self.reserved_input.append(value)
            return value

        return await super().call(make_call, input_tokens=recorded, output_tokens=output_tokens)


async def test_over_http_the_others_start_while_the_first_reply_streams_and_read_the_cached_prefix(
    start_fake_anthropic: Callable[..., FakeAnthropic],
) -> None:
    # About 600 output tokens at 1,000 a second: the first reply streams for over half a second.
    fake = start_fake_anthropic(token_limits=HIGH_TIER, output_tokens_per_second=1_000)
    pacer = RecordingPacer()
    provider = PacedProvider(AnthropicProvider(api_key="k", model=TEST_MODEL, base_url=fake.url), pacer)
    turn = GenerationRequest(
        conversation_id="fp_marcus_011",
        static_prefix="Rules of the house. " * 200,
        conversation_part="Required conversation_id: fp_marcus_011\nRequired turn: 1 of 4",
        schema={"type": "object"},
        max_output_tokens=7_000,
        expected_output_tokens=4_500,
        instruction="Write turn 1 of 4 now.",
        part="turn 1 of 4",
    )
    try:
        calls = [asyncio.create_task(provider.generate(turn)) for _ in range(4)]
        while fake.counters.calls < 4:  # all four are sent before the first has finished streaming
            assert not calls[0].done()
            await asyncio.sleep(0.01)
        await asyncio.gather(*calls)
    finally:
        await provider.aclose()
    prefix = estimate_tokens(turn.static_prefix)
    first, *others = pacer.reserved_input
    assert all(first - other == prefix for other in others)  # the prefix counted once, then read from the cache
