"""Pacing by the three budgets of a real account, streaming, and calls sized to the account's limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.conftest import TEST_MODEL
from tests.unit.llm.replies import a_reply
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.llm.base import (
    GenerationRequest,
    ProviderReply,
    RateLimited,
    RateLimitInfo,
    RequestTooLarge,
    ServerError,
)
from training_data_studio.llm.pacing import (
    BUCKET_MARGIN,
    DEFAULT_MAX_CALLS_IN_FLIGHT,
    MAX_ADAPTIVE_IN_FLIGHT,
    PacedProvider,
    Pacer,
    PacingState,
    adapted_in_flight,
    bucket_level,
    fit_to_limits,
    next_start,
    observe_rate_limited,
    observe_rate_limits,
    reserve,
    settle,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.rate_buckets import LOW_TIER, Limits, RateBuckets

NOW = datetime(2026, 12, 2, 15, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def request(*, max_tokens: int = 7_000, expected: int = 4_500, part: str = "turn 1 of 4") -> GenerationRequest:
    return GenerationRequest(
        conversation_id="fp_marcus_011",
        static_prefix="Rules. " * 50,
        conversation_part="Required conversation_id: fp_marcus_011\nRequired turn: 1 of 4",
        schema={"type": "object"},
        max_output_tokens=max_tokens,
        expected_output_tokens=expected,
        instruction="Write turn 1 of 4 now.",
        part=part,
    )


# --------------------------------------------------------------------------------------------------
# Buckets: max_tokens taken when a call starts, the unused part given back when it ends
# --------------------------------------------------------------------------------------------------


def test_an_output_bucket_refills_continuously() -> None:
    # 8,000 per minute, full again in 30 s: half of it is there now
    assert bucket_level(8_000, at(30), NOW) == pytest.approx(4_000)
    assert bucket_level(8_000, at(-1), NOW) == 8_000
    assert bucket_level(8_000, None, NOW) == 8_000


def test_a_call_waits_until_the_bucket_holds_its_max_tokens() -> None:
    state = PacingState(output_tokens_limit=8_000, output_tokens_reset=at(30))  # 4,000 there now
    # 7,000 needed and 2 % to spare (7,140): 3,140 more, at 8,000 a minute = 23.55 s
    assert BUCKET_MARGIN == 0.02
    assert next_start(state, NOW, output_tokens=7_000) == at(23.55)
    assert next_start(state, NOW, output_tokens=3_900) == NOW
    assert next_start(state, NOW, output_tokens=4_000) == at(0.6)  # 80 tokens to spare are missing


def test_reserving_then_settling_charges_only_what_was_used() -> None:
    state = PacingState(output_tokens_limit=8_000, input_tokens_limit=30_000)
    started = reserve(state, NOW, input_tokens=3_000, output_tokens=7_000)
    assert bucket_level(8_000, started.output_tokens_reset, NOW) == pytest.approx(1_000)
    assert next_start(started, NOW, output_tokens=7_000) == at(46.05)  # 6,140 missing
    # the reply used 3,000 of its 7,000: the API gives 4,000 back, so does the pacer
    ended = settle(started, NOW, input_reserved=3_000, input_used=3_000, output_reserved=7_000, output_used=3_000)
    assert bucket_level(8_000, ended.output_tokens_reset, NOW) == pytest.approx(5_000)
    assert bucket_level(30_000, ended.input_tokens_reset, NOW) == pytest.approx(27_000)


def test_a_refused_call_gives_everything_back() -> None:
    state = reserve(PacingState(output_tokens_limit=8_000), NOW, output_tokens=7_000)
    refunded = settle(state, NOW, input_reserved=0, input_used=0, output_reserved=7_000, output_used=0)
    assert bucket_level(8_000, refunded.output_tokens_reset, NOW) == 8_000


def test_headers_are_adopted_first_then_only_when_they_say_less_is_left() -> None:
    first = observe_rate_limits(
        PacingState(),
        RateLimitInfo(output_tokens_limit=8_000, output_tokens_remaining=6_000, output_tokens_reset=at(15)),
        NOW,
    )
    assert (first.output_tokens_limit, first.output_tokens_reset) == (8_000, at(15))
    # Older headers (sent when an earlier call started) that say more is left do not undo our reservations.
    reserved = reserve(first, NOW, output_tokens=4_000)  # full at 15 + 30 s
    stale = RateLimitInfo(output_tokens_limit=8_000, output_tokens_remaining=6_000, output_tokens_reset=at(15))
    assert observe_rate_limits(reserved, stale, NOW).output_tokens_reset == at(45)
    # Someone else spent the account: the headers say it is full later, and win.
    other = RateLimitInfo(output_tokens_limit=8_000, output_tokens_remaining=0, output_tokens_reset=at(60))
    assert observe_rate_limits(reserved, other, NOW).output_tokens_reset == at(60)


def test_requests_are_a_bucket_too_once_their_limit_is_known() -> None:
    # 60 a minute, all spent (full again in 60 s): one more (and 2 % to spare) is there after a second, not
    # after the minute
    empty = PacingState(requests_limit=60, requests_remaining=0, requests_reset=at(60))
    assert next_start(empty, NOW) == at(1.02)
    half = PacingState(requests_limit=60, requests_remaining=30, requests_reset=at(30))
    assert next_start(half, NOW) == NOW
    taken = reserve(half, NOW)
    assert (taken.requests_remaining, taken.requests_reset) == (29, at(31))
    # Without a known limit, a budget at zero still waits for its reset.
    assert next_start(PacingState(requests_remaining=0, requests_reset=at(12)), NOW) == at(12)


def test_a_429_sets_the_buckets_back_by_what_the_block_grew() -> None:
    """A call refused although our buckets said it fitted: they were ahead of the API's, by at least the
    wait it named. Set back once per block, they stay right; left alone, every later call is refused too."""
    ahead = PacingState(output_tokens_limit=8_000, input_tokens_limit=30_000)  # we think both are full
    refused = RateLimited("short", retry_after=3.0)
    once = observe_rate_limited(ahead, refused, NOW, fallback_seconds=1)
    assert once.blocked_until == at(3)
    assert once.output_tokens_reset == at(3)
    assert bucket_level(8_000, once.output_tokens_reset, NOW) == pytest.approx(7_600)
    assert once.input_tokens_reset == at(3)
    # a second caller refused in the same instant: the block did not grow, nothing more is set back
    twice = observe_rate_limited(once, RateLimited("short", retry_after=3.0), NOW, fallback_seconds=1)
    assert twice.output_tokens_reset == at(3)
    # without a retry-after there is nothing to go on (a request larger than the limit, say)
    never = observe_rate_limited(ahead, RateLimited("too large", retry_after=None), NOW, fallback_seconds=1)
    assert never.output_tokens_reset is None


class HeldCalls:
    """Calls that wait until released, to see which ones the pacer lets out while others are pending."""

    def __init__(self, info: RateLimitInfo) -> None:
        self.info = info
        self.started = 0
        self.release = asyncio.Event()

    async def call(self) -> ProviderReply:
        self.started += 1
        await self.release.wait()
        await asyncio.sleep(0.01)  # a reply takes a while: the calls after the first overlap
        return a_reply(self.info)


async def test_the_first_call_goes_alone_until_its_reply_tells_the_limits() -> None:
    """Eight callers at once on an account nothing is known of: one call is sent, the others wait for its
    headers (sent together, seven of eight 7,000-token calls would be refused by an 8,000 OTPM account)."""
    held = HeldCalls(RateLimitInfo(requests_limit=4_000, output_tokens_limit=400_000, input_tokens_limit=2_000_000))
    pacer = Pacer(8)
    calls = [asyncio.create_task(pacer.call(held.call, output_tokens=7_000)) for _ in range(8)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert held.started == 1
    held.release.set()
    await asyncio.gather(*calls)
    assert held.started == 8
    assert pacer.peak_in_flight > 1


async def test_a_first_call_that_got_no_answer_hands_the_probe_to_the_next() -> None:
    pacer = Pacer(8)
    started: list[int] = []

    async def dropped() -> ProviderReply:
        started.append(len(started))
        await asyncio.sleep(0.01)
        raise ServerError("connection dropped")  # no status: nothing was heard

    calls = [asyncio.create_task(pacer.call(dropped)) for _ in range(3)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(started) == 1
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(result, ServerError) for result in results)
    assert pacer.peak_in_flight == 1  # never heard back: one call at a time throughout


async def test_known_limits_let_callers_start_together() -> None:
    held = HeldCalls(RateLimitInfo())
    pacer = Pacer(8, state=PacingState(requests_limit=4_000))  # learnt earlier, or by another worker
    calls = [asyncio.create_task(pacer.call(held.call)) for _ in range(4)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert held.started == 4
    held.release.set()
    await asyncio.gather(*calls)


# --------------------------------------------------------------------------------------------------
# Calls sized to the account
# --------------------------------------------------------------------------------------------------


def test_max_tokens_is_lowered_to_the_accounts_output_limit() -> None:
    assert fit_to_limits(request(max_tokens=7_000), 8_000).max_output_tokens == 7_000
    assert fit_to_limits(request(max_tokens=9_000), 8_000).max_output_tokens == 8_000
    assert fit_to_limits(request(max_tokens=9_000), None).max_output_tokens == 9_000


def test_a_request_that_cannot_fit_says_why() -> None:
    with pytest.raises(RequestTooLarge) as caught:
        fit_to_limits(request(max_tokens=36_000, expected=24_000, part="conversation"), 8_000)
    message = caught.value.message
    assert "needs about 24,000 output tokens but the account allows 8,000 per minute" in message
    assert "anthropic-ratelimit-output-tokens-limit" in message
    assert "nothing was sent" in message
    assert not caught.value.retryable


async def test_a_request_that_cannot_fit_is_never_sent(start_fake_anthropic: Callable[..., FakeAnthropic]) -> None:
    fake = start_fake_anthropic(token_limits=Limits(50, 30_000, 4_000))
    provider = PacedProvider(AnthropicProvider(api_key="k", model=TEST_MODEL, base_url=fake.url), Pacer())
    try:
        await provider.generate(request(max_tokens=3_000, expected=2_000))  # learns the limits
        assert fake.counters.calls == 1
        with pytest.raises(RequestTooLarge):
            await provider.generate(request(max_tokens=7_000, expected=4_500))
    finally:
        await provider.aclose()
    assert fake.counters.calls == 1


def test_calls_in_flight_adapt_to_the_request_limit() -> None:
    assert adapted_in_flight(None) == DEFAULT_MAX_CALLS_IN_FLIGHT
    assert adapted_in_flight(60) == 30
    assert adapted_in_flight(10) == DEFAULT_MAX_CALLS_IN_FLIGHT
    assert adapted_in_flight(4_000) == MAX_ADAPTIVE_IN_FLIGHT == 128


async def test_an_adaptive_pacer_takes_its_size_from_the_headers(
    start_fake_anthropic: Callable[..., FakeAnthropic],
) -> None:
    fake = start_fake_anthropic(requests_per_minute=60)
    pacer = Pacer(None)
    provider = PacedProvider(AnthropicProvider(api_key="k", model=TEST_MODEL, base_url=fake.url), pacer)
    try:
        assert pacer.max_in_flight == DEFAULT_MAX_CALLS_IN_FLIGHT
        await provider.generate(request())
        assert pacer.max_in_flight == 30
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------------


async def test_a_call_streams_and_reports_its_output_tokens_as_they_come(
    start_fake_anthropic: Callable[..., FakeAnthropic],
) -> None:
    fake = start_fake_anthropic(output_tokens_per_second=20_000)
    provider = AnthropicProvider(api_key="k", model=TEST_MODEL, base_url=fake.url)
    seen: list[int] = []
    try:
        reply = await provider.generate(request(), on_progress=seen.append)
    finally:
        await provider.aclose()
    assert fake.requests[0]["stream"] is True
    assert reply.data is not None
    assert reply.data["turn_number"] == 1
    assert '"type":"tool_use"' in reply.raw_response.replace(" ", "")
    assert len(seen) > 3
    assert seen == sorted(seen)
    assert seen[-1] == reply.usage.output_tokens > 0
    assert reply.rate_limits.requests_limit is not None


# --------------------------------------------------------------------------------------------------
# The token-aware fake
# --------------------------------------------------------------------------------------------------


def test_the_fakes_buckets_take_max_tokens_and_give_back_the_rest() -> None:
    now = [0.0]
    buckets = RateBuckets(LOW_TIER, clock=lambda: now[0])
    assert buckets.admit(input_tokens=1_000, max_tokens=7_000) is None
    wait = buckets.admit(input_tokens=1_000, max_tokens=7_000)
    assert wait == pytest.approx(6_000 / (8_000 / 60))  # 1,000 left of 8,000; 6,000 more at 8,000 a minute
    buckets.settle(max_tokens=7_000, output_tokens=3_000)  # 4,000 back: 5,000 there
    assert buckets.admit(input_tokens=1_000, max_tokens=5_000) is None
    assert buckets.admit(input_tokens=0, max_tokens=9_000) == float("inf")  # more than the limit: never
    headers = buckets.headers()
    assert headers["anthropic-ratelimit-output-tokens-limit"] == "8000"
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "0"


def test_the_fakes_request_limit_is_a_bucket_like_the_apis(start_fake_anthropic: Callable[..., FakeAnthropic]) -> None:
    """The whole limit at once, then one request every window / limit: not a sliding window, which would
    hold every request until the first burst leaves it."""
    fake = start_fake_anthropic(requests_per_minute=4, window_seconds=0.4)  # a request every 0.1 s
    assert [fake.request_retry_after() for _ in range(4)] == [None] * 4
    wait = fake.request_retry_after()
    assert wait is not None
    assert 0 < wait <= 0.1
    time.sleep(0.1)
    assert fake.request_retry_after() is None
    limit, remaining, full_in = fake.request_state()
    assert (limit, remaining) == (4, 0)
    assert 0.3 < full_in <= 0.4


async def test_the_fake_writes_at_its_stated_output_speed(start_fake_anthropic: Callable[..., FakeAnthropic]) -> None:
    """A streamed reply of N output tokens at R a second takes N / R seconds: the pauses between the events add
    up to that (pausing before each of the message's events as well as its text made it slower than stated,
    and every benchmark bound computed from the speed out of reach)."""
    fake = start_fake_anthropic(output_tokens_per_second=2_000)
    provider = AnthropicProvider(api_key="k", model=TEST_MODEL, base_url=fake.url)
    try:
        await provider.generate(request())  # the first call also connects and warms the client up
        started = time.monotonic()
        reply = await provider.generate(request())
        elapsed = time.monotonic() - started
    finally:
        await provider.aclose()
    service = reply.usage.output_tokens / 2_000
    assert service > 1.5
    assert service * 0.98 <= elapsed <= service * 1.04 + 0.1  # 51 events: it used to take 1.11 x service
