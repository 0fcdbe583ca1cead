"""When may the next LLM call start? Rate-limit-aware pacing and retries, in one place.

The decision is a pure function of a small state and the time (:func:`next_start`), so the same logic can
later run against a state shared by every worker through one Postgres row (:meth:`PacingState.to_row` /
:meth:`PacingState.from_row`, updated under ``SELECT ... FOR UPDATE``). The state holds:

* ``blocked_until``: set by a 429 (from ``retry-after``); no caller starts a call before it;
* the remaining request / input-token / output-token budgets and their reset times, from the latest
  reply's headers, decremented optimistically by each call that starts (:func:`reserve`) so that callers
  starting together do not all spend the same budget. A budget whose reset time has passed is unknown.

529 (overloaded) and 5xx replies are retried by the caller that got them, after an exponential backoff with
full jitter (:func:`backoff_delay`); they do not block other callers, because jitter is what spreads the
retries out. :class:`Pacer` applies all of this in one process, with a semaphore capping calls in flight.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from ..core.config import Settings
from .base import (
    GenerationRequest,
    Overloaded,
    Provider,
    ProviderError,
    ProviderReply,
    RateLimited,
    RateLimitInfo,
    ServerError,
)

# Calls in flight at once when TDS_MAX_CALLS_IN_FLIGHT is not set: enough to keep a batch of conversations
# moving, few enough to stay inside the request limits of the lower API tiers.
DEFAULT_MAX_CALLS_IN_FLIGHT = 8
# Exponential backoff for 529/5xx: the first retry waits up to 2 s, then 4, 8, ... never more than 60 s,
# long enough for a brief overload to pass without idling a worker for minutes.
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 60.0
# Tries per call (the first one included): the requirements' "up to 3 attempts per conversation". Past that
# the conversation fails with its error and the job moves on; "retry failed" queues it again. Waiting out a
# 429 is pacing and does not count.
MAX_ATTEMPTS_PER_CALL = 3
# 429s waited out per call before giving up: a storm longer than this is an outage, not pacing.
MAX_RATE_LIMIT_WAITS = 30
# Callers released together when a block ends start spread over this long, not in one burst.
START_JITTER_SECONDS = 1.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PacingState:
    """Everything the start decision needs; one row per provider once it is shared through Postgres."""

    blocked_until: datetime | None = None
    requests_remaining: int | None = None
    requests_reset: datetime | None = None
    input_tokens_remaining: int | None = None
    input_tokens_reset: datetime | None = None
    output_tokens_remaining: int | None = None
    output_tokens_reset: datetime | None = None
    updated_at: datetime | None = None

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PacingState:
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})


def _known(remaining: int | None, reset: datetime | None, now: datetime) -> int | None:
    """A budget counts only until its reset time; after that (or without one) it is unknown."""
    if remaining is None or reset is None or reset <= now:
        return None
    return remaining


def next_start(state: PacingState, now: datetime, *, input_tokens: int = 0, output_tokens: int = 0) -> datetime:
    """The earliest time a call expected to use these tokens may start (``now`` if it may start now)."""
    start = now
    if state.blocked_until is not None and state.blocked_until > start:
        start = state.blocked_until
    requests = _known(state.requests_remaining, state.requests_reset, now)
    if requests is not None and requests <= 0 and state.requests_reset is not None:
        start = max(start, state.requests_reset)
    tokens_in = _known(state.input_tokens_remaining, state.input_tokens_reset, now)
    if tokens_in is not None and tokens_in < input_tokens and state.input_tokens_reset is not None:
        start = max(start, state.input_tokens_reset)
    tokens_out = _known(state.output_tokens_remaining, state.output_tokens_reset, now)
    if tokens_out is not None and tokens_out < output_tokens and state.output_tokens_reset is not None:
        start = max(start, state.output_tokens_reset)
    return start


def reserve(state: PacingState, now: datetime, *, input_tokens: int = 0, output_tokens: int = 0) -> PacingState:
    """Spend one request and the expected tokens from the known budgets as a call starts."""

    def spend(remaining: int | None, reset: datetime | None, amount: int) -> int | None:
        known = _known(remaining, reset, now)
        return None if known is None else max(0, known - amount)

    return replace(
        state,
        requests_remaining=spend(state.requests_remaining, state.requests_reset, 1),
        input_tokens_remaining=spend(state.input_tokens_remaining, state.input_tokens_reset, input_tokens),
        output_tokens_remaining=spend(state.output_tokens_remaining, state.output_tokens_reset, output_tokens),
        updated_at=now,
    )


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if current is None:
        return candidate
    if candidate is None:
        return current
    return max(current, candidate)


def observe_rate_limits(state: PacingState, info: RateLimitInfo, now: datetime) -> PacingState:
    """Adopt what a reply's headers reported; fields it did not report keep their current value."""

    def pick(reported: Any, current: Any) -> Any:
        return current if reported is None else reported

    blocked = state.blocked_until
    if info.retry_after is not None:
        blocked = _later(blocked, now + timedelta(seconds=info.retry_after))
    return PacingState(
        blocked_until=blocked,
        requests_remaining=pick(info.requests_remaining, state.requests_remaining),
        requests_reset=pick(info.requests_reset, state.requests_reset),
        input_tokens_remaining=pick(info.input_tokens_remaining, state.input_tokens_remaining),
        input_tokens_reset=pick(info.input_tokens_reset, state.input_tokens_reset),
        output_tokens_remaining=pick(info.output_tokens_remaining, state.output_tokens_remaining),
        output_tokens_reset=pick(info.output_tokens_reset, state.output_tokens_reset),
        updated_at=now,
    )


def observe_rate_limited(
    state: PacingState, error: RateLimited, now: datetime, *, fallback_seconds: float
) -> PacingState:
    """A 429: block every caller until ``retry-after`` (or ``fallback_seconds`` when it was not sent)."""
    updated = observe_rate_limits(state, error.rate_limits, now)
    wait = error.retry_after if error.retry_after is not None else fallback_seconds
    return replace(updated, blocked_until=_later(updated.blocked_until, now + timedelta(seconds=wait)))


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Full jitter: a uniform wait in ``[0, min(cap, base * 2**(attempt - 1))]`` after failed try ``attempt``."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return rng.uniform(0, ceiling)


def _take_if_allowed(
    state: PacingState, *, now: datetime, starts: list[datetime], input_tokens: int, output_tokens: int
) -> PacingState:
    """Reserve the budget for a call if it may start now; note when it may start either way."""
    start = next_start(state, now, input_tokens=input_tokens, output_tokens=output_tokens)
    starts.append(start)
    if start > now:
        return state
    return reserve(state, now, input_tokens=input_tokens, output_tokens=output_tokens)


class PacingStore(Protocol):
    """Where the pacing state lives: in this process, or in one Postgres row shared by every worker."""

    async def update(self, change: Callable[[PacingState], PacingState]) -> PacingState:
        """Apply ``change`` to the current state atomically and return the new state."""
        ...

    def snapshot(self) -> PacingState: ...

    def replace(self, state: PacingState) -> None: ...

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Hold one of the calls-in-flight slots shared by every process using this store."""
        ...


class MemoryPacingStore:
    """The state of one process (tests, the CLI without workers)."""

    def __init__(self, state: PacingState | None = None) -> None:
        self.state = state or PacingState()

    async def update(self, change: Callable[[PacingState], PacingState]) -> PacingState:
        self.state = change(self.state)
        return self.state

    def snapshot(self) -> PacingState:
        return self.state

    def replace(self, state: PacingState) -> None:
        self.state = state

    def slot(self) -> AbstractAsyncContextManager[None]:
        return nullcontext()


class Pacer:
    """Starts calls when :func:`next_start` allows, at most ``max_in_flight`` at once, and retries them.

    429s block every caller until the provider's ``retry-after`` and are waited out without using up an
    attempt (up to :data:`MAX_RATE_LIMIT_WAITS`); 529/5xx are retried with :func:`backoff_delay`; other
    errors (:class:`~.providers.base.ProviderRefused`) propagate at once. After ``max_attempts`` failed tries
    the last error propagates. The state lives in a :class:`PacingStore` (one process, or Postgres for all
    workers). ``clock``, ``sleep`` and ``rng`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        max_in_flight: int = DEFAULT_MAX_CALLS_IN_FLIGHT,
        *,
        state: PacingState | None = None,
        store: PacingStore | None = None,
        max_attempts: int = MAX_ATTEMPTS_PER_CALL,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._store: PacingStore = store or MemoryPacingStore(state)
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.in_flight = 0
        self.peak_in_flight = 0
        self.rate_limit_waits = 0
        self._semaphore = asyncio.Semaphore(max_in_flight)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def state(self) -> PacingState:
        return self._store.snapshot()

    @state.setter
    def state(self, value: PacingState) -> None:
        self._store.replace(value)

    @classmethod
    def from_settings(cls, settings: Settings, *, store: PacingStore | None = None) -> Pacer:
        """A pacer allowing ``TDS_MAX_CALLS_IN_FLIGHT`` calls at once."""
        return cls(settings.max_calls_in_flight, store=store)

    async def _wait_for_start(self, *, input_tokens: int, output_tokens: int) -> None:
        waited = False
        while True:
            now = self._clock()
            starts: list[datetime] = []
            await self._store.update(
                partial(
                    _take_if_allowed, now=now, starts=starts, input_tokens=input_tokens, output_tokens=output_tokens
                )
            )
            if starts[-1] <= now:
                return
            delay = (starts[-1] - now).total_seconds()
            if not waited:
                delay += self._rng.uniform(0, START_JITTER_SECONDS)
                waited = True
            await self._sleep(delay)

    async def call(
        self,
        make_call: Callable[[], Awaitable[ProviderReply]],
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> ProviderReply:
        """Run ``make_call`` (one provider call) when allowed, retrying 429/529/5xx."""
        attempt = 0
        while True:
            backoff = 0.0
            async with self._semaphore, self._store.slot():
                await self._wait_for_start(input_tokens=input_tokens, output_tokens=output_tokens)
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    reply = await make_call()
                except RateLimited as exc:
                    error: ProviderError = exc
                    self.rate_limit_waits += 1
                    fallback = backoff_delay(self.rate_limit_waits, self._rng)
                    now = self._clock()
                    await self._store.update(
                        partial(observe_rate_limited, error=exc, now=now, fallback_seconds=fallback)
                    )
                    if self.rate_limit_waits <= MAX_RATE_LIMIT_WAITS:
                        continue  # waiting out a 429 is pacing, not a failed attempt
                except (Overloaded, ServerError) as exc:
                    error = exc
                    backoff = backoff_delay(attempt + 1, self._rng)
                else:
                    now = self._clock()
                    await self._store.update(partial(observe_rate_limits, info=reply.rate_limits, now=now))
                    return reply
                finally:
                    self.in_flight -= 1
            attempt += 1
            if attempt >= self.max_attempts:
                raise error
            if backoff > 0:
                await self._sleep(backoff)  # outside the semaphore: a backing-off caller holds no slot


class PacedProvider:
    """A :class:`~.providers.base.Provider` whose calls go through a :class:`Pacer` (waits and retries)."""

    def __init__(self, provider: Provider, pacer: Pacer) -> None:
        self.provider = provider
        self.pacer = pacer
        self.name = provider.name
        self.model = provider.model

    async def generate(self, request: GenerationRequest) -> ProviderReply:
        return await self.pacer.call(
            lambda: self.provider.generate(request),
            input_tokens=request.estimated_input_tokens,
            output_tokens=request.expected_output_tokens,
        )

    async def aclose(self) -> None:
        await self.provider.aclose()
