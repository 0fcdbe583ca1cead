"""When may the next LLM call start? Rate-limit-aware pacing and retries, in one place.

The decision is a pure function of a small state and the time (:func:`next_start`), so the same logic can
later run against a state shared by every worker through one Postgres row (:meth:`PacingState.to_row` /
:meth:`PacingState.from_row`, updated under ``SELECT ... FOR UPDATE``). The state holds:

* ``blocked_until``: set by a 429 (from ``retry-after``); no caller starts a call before it;
* the remaining request / input-token / output-token budgets and their reset times, from the latest
  reply's headers, decremented optimistically by each call that starts (:func:`reserve`) so that callers
  starting together do not all spend the same budget. A budget whose reset time has passed is unknown.
* the limits (``anthropic-ratelimit-*-limit``). Once a limit is known, that budget is a bucket refilled
  continuously at limit per minute, as the API applies it, whose reset time is when it is full again (so
  after a burst of the whole request limit, one request every minute / limit, not none until the minute
  is over): a call starts when the buckets hold one request, its uncached input tokens and its ``max_tokens`` of
  output (the API charges max_tokens when a call starts), and :func:`settle` gives back what the reply did
  not use, as the API does when the call ends. Headers then only ever lower the budget (a reply's headers
  were sent when its call started, so they are older than the reservations made since).

Two things keep the first minute free of 429s: until a reply has told the limits, one call goes alone and
the others wait for its headers, heard as its stream opens (a burst of calls sized for one account would
mostly be refused by a smaller one); and a call starts only when a bucket holds its need plus
:data:`BUCKET_MARGIN`, because our model of the API's buckets runs a few milliseconds ahead of it.

What the calls reserve and take (:class:`CallSizes`) sizes the work callers bring: :func:`calls_wanted` is
how many calls at once the limits keep busy, which is how many conversations `tds generate` works on.

529 (overloaded) and 5xx replies are retried by the caller that got them, after an exponential backoff with
full jitter (:func:`backoff_delay`); they do not block other callers, because jitter is what spreads the
retries out. :class:`Pacer` applies all of this in one process, with a semaphore capping calls in flight.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from ..core.config import Settings
from .base import (
    GenerationRequest,
    LimitsHeard,
    Overloaded,
    Progress,
    Provider,
    ProviderError,
    ProviderReply,
    RateLimited,
    RateLimitInfo,
    RequestTooLarge,
    ServerError,
    estimate_tokens,
)

# Calls in flight at once when TDS_MAX_CALLS_IN_FLIGHT is not set, until the first reply's headers tell the
# account's request limit: enough to keep a batch of conversations moving, few enough for the lowest tier.
DEFAULT_MAX_CALLS_IN_FLIGHT = 8
# Once the request limit per minute is known, up to half of it may be in flight (a call takes seconds to
# minutes, so that is never the limit that binds; the three budgets decide when each call starts), within
# these bounds: at least the default, at most what one process's connections and event loop carry well
# (a high-tier account keeps about a hundred calls of a minute each busy).
MAX_ADAPTIVE_IN_FLIGHT = 128


def adapted_in_flight(requests_limit: int | None) -> int:
    """Calls in flight allowed for an account that may make ``requests_limit`` requests per minute."""
    if requests_limit is None:
        return DEFAULT_MAX_CALLS_IN_FLIGHT
    return max(DEFAULT_MAX_CALLS_IN_FLIGHT, min(MAX_ADAPTIVE_IN_FLIGHT, requests_limit // 2))


class Gate:
    """A semaphore whose size can change while callers wait (an asyncio.Semaphore's cannot)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.held = 0
        self._changed = asyncio.Condition()

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        if value == self._limit:
            return
        self._limit = value
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def __aenter__(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.held < self._limit)
            self.held += 1

    async def __aexit__(self, *exc: object) -> None:
        async with self._changed:
            self.held -= 1
            self._changed.notify_all()


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
# The token limits are per minute, and their buckets refill continuously over it.
REFILL_WINDOW_SECONDS = 60.0
# A call starts when a bucket holds 2 % more than it needs (never more than the limit). Our model of the
# account's buckets runs a little ahead of the API's (reset times come rounded to the millisecond, headers
# are a few milliseconds old, the API settles a call before we see it end), and a call started on a bucket a
# few tokens short is refused with a 429; 2 % of a 7,000-token call is 140 tokens, about a second of an
# 8,000 output-tokens-per-minute account's refill.
BUCKET_MARGIN = 0.02


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
    requests_limit: int | None = None
    input_tokens_limit: int | None = None
    output_tokens_limit: int | None = None
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


def bucket_level(limit: int, reset: datetime | None, now: datetime, window: float = REFILL_WINDOW_SECONDS) -> float:
    """Tokens in a bucket of ``limit`` per minute that is full again at ``reset``."""
    if reset is None or reset <= now:
        return float(limit)
    return max(0.0, limit - (reset - now).total_seconds() * limit / window)


def _bucket_start(limit: int, reset: datetime | None, now: datetime, needed: int, window: float) -> datetime:
    missing = min(limit, needed * (1 + BUCKET_MARGIN)) - bucket_level(limit, reset, now, window)
    if missing <= 0:
        return now
    return now + timedelta(seconds=missing * window / limit)


def _bucket_take(
    limit: int, reset: datetime | None, now: datetime, amount: float, window: float
) -> tuple[int, datetime]:
    """(remaining, reset) after taking ``amount`` (negative: giving it back) from the bucket."""
    full_at = reset if reset is not None and reset > now else now
    full_at = max(now, full_at + timedelta(seconds=amount * window / limit))
    return int(bucket_level(limit, full_at, now, window)), full_at


def _token_start(
    limit: int | None, remaining: int | None, reset: datetime | None, now: datetime, needed: int, window: float
) -> datetime:
    if needed <= 0:
        return now
    if limit is not None:
        return _bucket_start(limit, reset, now, needed, window)
    known = _known(remaining, reset, now)
    if known is not None and known < needed and reset is not None:
        return reset
    return now


def next_start(
    state: PacingState,
    now: datetime,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    window: float = REFILL_WINDOW_SECONDS,
) -> datetime:
    """The earliest time a call that needs these tokens may start (``now`` if it may start now)."""
    start = now
    if state.blocked_until is not None and state.blocked_until > start:
        start = state.blocked_until
    start = max(
        start,
        _token_start(state.requests_limit, state.requests_remaining, state.requests_reset, now, 1, window),
        _token_start(
            state.input_tokens_limit, state.input_tokens_remaining, state.input_tokens_reset, now, input_tokens, window
        ),
        _token_start(
            state.output_tokens_limit,
            state.output_tokens_remaining,
            state.output_tokens_reset,
            now,
            output_tokens,
            window,
        ),
    )
    return start


def _spend_tokens(
    limit: int | None, remaining: int | None, reset: datetime | None, now: datetime, amount: float, window: float
) -> tuple[int | None, datetime | None]:
    if limit is not None:
        return _bucket_take(limit, reset, now, amount, window)
    known = _known(remaining, reset, now)
    return (None if known is None else max(0, int(known - amount))), reset


def reserve(
    state: PacingState,
    now: datetime,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    window: float = REFILL_WINDOW_SECONDS,
) -> PacingState:
    """Spend one request and the tokens from the known budgets as a call starts."""
    requests, requests_reset = _spend_tokens(
        state.requests_limit, state.requests_remaining, state.requests_reset, now, 1, window
    )
    tokens_in, reset_in = _spend_tokens(
        state.input_tokens_limit, state.input_tokens_remaining, state.input_tokens_reset, now, input_tokens, window
    )
    tokens_out, reset_out = _spend_tokens(
        state.output_tokens_limit, state.output_tokens_remaining, state.output_tokens_reset, now, output_tokens, window
    )
    return replace(
        state,
        requests_remaining=requests,
        requests_reset=requests_reset,
        input_tokens_remaining=tokens_in,
        input_tokens_reset=reset_in,
        output_tokens_remaining=tokens_out,
        output_tokens_reset=reset_out,
        updated_at=now,
    )


def settle(
    state: PacingState,
    now: datetime,
    *,
    input_reserved: int,
    input_used: int,
    output_reserved: int,
    output_used: int,
    window: float = REFILL_WINDOW_SECONDS,
) -> PacingState:
    """A call ended: give back the reserved tokens it did not use (all of them when it was refused), as the
    API does; only buckets with a known limit are settled (elsewhere the next headers tell)."""
    updated = state
    if state.output_tokens_limit is not None:
        remaining, reset = _bucket_take(
            state.output_tokens_limit, state.output_tokens_reset, now, output_used - output_reserved, window
        )
        updated = replace(updated, output_tokens_remaining=remaining, output_tokens_reset=reset)
    if state.input_tokens_limit is not None:
        remaining, reset = _bucket_take(
            state.input_tokens_limit, state.input_tokens_reset, now, input_used - input_reserved, window
        )
        updated = replace(updated, input_tokens_remaining=remaining, input_tokens_reset=reset)
    return replace(updated, updated_at=now)


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if current is None:
        return candidate
    if candidate is None:
        return current
    return max(current, candidate)


def observe_rate_limits(
    state: PacingState, info: RateLimitInfo, now: datetime, window: float = REFILL_WINDOW_SECONDS
) -> PacingState:
    """Adopt what a reply's headers reported; fields it did not report keep their current value."""

    def pick(reported: Any, current: Any) -> Any:
        return current if reported is None else reported

    blocked = state.blocked_until
    if info.retry_after is not None:
        blocked = _later(blocked, now + timedelta(seconds=info.retry_after))
    requests_limit = pick(info.requests_limit, state.requests_limit)
    requests_remaining, requests_reset = _observe_bucket(
        requests_limit,
        state.requests_limit,
        state.requests_remaining,
        state.requests_reset,
        info.requests_remaining,
        info.requests_reset,
        now,
        window,
    )
    input_limit = pick(info.input_tokens_limit, state.input_tokens_limit)
    output_limit = pick(info.output_tokens_limit, state.output_tokens_limit)
    input_remaining, input_reset = _observe_bucket(
        input_limit,
        state.input_tokens_limit,
        state.input_tokens_remaining,
        state.input_tokens_reset,
        info.input_tokens_remaining,
        info.input_tokens_reset,
        now,
        window,
    )
    output_remaining, output_reset = _observe_bucket(
        output_limit,
        state.output_tokens_limit,
        state.output_tokens_remaining,
        state.output_tokens_reset,
        info.output_tokens_remaining,
        info.output_tokens_reset,
        now,
        window,
    )
    return PacingState(
        blocked_until=blocked,
        requests_remaining=requests_remaining,
        requests_reset=requests_reset,
        input_tokens_remaining=input_remaining,
        input_tokens_reset=input_reset,
        output_tokens_remaining=output_remaining,
        output_tokens_reset=output_reset,
        requests_limit=requests_limit,
        input_tokens_limit=input_limit,
        output_tokens_limit=output_limit,
        updated_at=now,
    )


def _observe_bucket(
    limit: int | None,
    known_limit: int | None,
    remaining: int | None,
    reset: datetime | None,
    reported_remaining: int | None,
    reported_reset: datetime | None,
    now: datetime,
    window: float,
) -> tuple[int | None, datetime | None]:
    """A token budget after a reply's headers: a bucket already tracked takes the headers only when they
    say less is left (someone else spent it); otherwise, or for the first headers, they are taken as sent."""
    if reported_reset is None and reported_remaining is None:
        return remaining, reset
    if limit is None or known_limit is None or reported_reset is None:
        return (reported_remaining if reported_remaining is not None else remaining), (reported_reset or reset)
    if reset is None or reported_reset > reset:
        return int(bucket_level(limit, reported_reset, now, window)), reported_reset
    return remaining, reset


def observe_rate_limited(
    state: PacingState,
    error: RateLimited,
    now: datetime,
    *,
    fallback_seconds: float,
    window: float = REFILL_WINDOW_SECONDS,
) -> PacingState:
    """A 429: block every caller until ``retry-after`` (or ``fallback_seconds`` when it was not sent).

    The call was started because our buckets said it fitted, so they are ahead of the API's by at least
    the wait it named: every bucket with a known limit is set back by as much as the block grew. Otherwise
    an error that put them ahead (whatever caused it) would stay, and every call started on it would be
    refused in turn; setting back one that was not short costs only that wait."""
    updated = observe_rate_limits(state, error.rate_limits, now, window)
    wait = error.retry_after if error.retry_after is not None else fallback_seconds
    until = now + timedelta(seconds=wait)
    blocked = replace(updated, blocked_until=_later(updated.blocked_until, until))
    grown = (until - max(now, state.blocked_until or now)).total_seconds()
    if error.retry_after is None or grown <= 0:
        return blocked
    return _set_back(blocked, now, grown, window)


def _set_back(state: PacingState, now: datetime, seconds: float, window: float) -> PacingState:
    """The buckets with a known limit, each full ``seconds`` later than it was."""

    def later(limit: int | None, remaining: int | None, reset: datetime | None) -> tuple[int | None, datetime | None]:
        if limit is None:
            return remaining, reset
        full_at = max(now, reset or now) + timedelta(seconds=seconds)
        return int(bucket_level(limit, full_at, now, window)), full_at

    requests = later(state.requests_limit, state.requests_remaining, state.requests_reset)
    tokens_in = later(state.input_tokens_limit, state.input_tokens_remaining, state.input_tokens_reset)
    tokens_out = later(state.output_tokens_limit, state.output_tokens_remaining, state.output_tokens_reset)
    return replace(
        state,
        requests_remaining=requests[0],
        requests_reset=requests[1],
        input_tokens_remaining=tokens_in[0],
        input_tokens_reset=tokens_in[1],
        output_tokens_remaining=tokens_out[0],
        output_tokens_reset=tokens_out[1],
    )


def _limits_known(state: PacingState) -> bool:
    return any(
        limit is not None for limit in (state.requests_limit, state.input_tokens_limit, state.output_tokens_limit)
    )


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Full jitter: a uniform wait in ``[0, min(cap, base * 2**(attempt - 1))]`` after failed try ``attempt``."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return rng.uniform(0, ceiling)


def _take_if_allowed(
    state: PacingState,
    *,
    now: datetime,
    starts: list[datetime],
    input_tokens: int,
    output_tokens: int,
    window: float = REFILL_WINDOW_SECONDS,
) -> PacingState:
    """Reserve the budget for a call if it may start now; note when it may start either way."""
    start = next_start(state, now, input_tokens=input_tokens, output_tokens=output_tokens, window=window)
    starts.append(start)
    if start > now:
        return state
    return reserve(state, now, input_tokens=input_tokens, output_tokens=output_tokens, window=window)


# Running means over recent calls give the latest call this weight: a few calls are enough to follow a change
# of part size (a dialogue, then annotated turns) without one odd call swinging the sizing below.
SIZES_WEIGHT = 0.2
# Calls kept in flight beyond what the budgets' refill rate times a call's duration asks for: the moments
# between one call of a conversation and its next (checks, the save) and calls that run longer than the mean.
BUSY_HEADROOM = 1.25


@dataclass(slots=True)
class CallSizes:
    """What recent calls needed and took, as running means: what decides how many calls at once the
    account's limits keep busy (:func:`calls_wanted`). What a call reserves is known when it starts; how
    long it took and what it used, when it ends."""

    started: int = 0
    ended: int = 0
    input_tokens: float = 0.0  # uncached input, as reserved
    output_reserved: float = 0.0  # max_tokens
    seconds: float = 0.0
    output_used: float = 0.0

    def start(self, *, input_tokens: int, output_reserved: int) -> None:
        weight = 1.0 if not self.started else SIZES_WEIGHT
        self.input_tokens += weight * (input_tokens - self.input_tokens)
        self.output_reserved += weight * (output_reserved - self.output_reserved)
        self.started += 1

    def end(self, *, seconds: float, output_used: int) -> None:
        weight = 1.0 if not self.ended else SIZES_WEIGHT
        self.seconds += weight * (seconds - self.seconds)
        self.output_used += weight * (output_used - self.output_used)
        self.ended += 1


def calls_room(state: PacingState, now: datetime, sizes: CallSizes, window: float = REFILL_WINDOW_SECONDS) -> int:
    """How many more calls of the recent size the buckets would let start now (none while a 429 blocks)."""
    if state.blocked_until is not None and state.blocked_until > now:
        return 0
    counts = []
    for limit, reset, need in (
        (state.requests_limit, state.requests_reset, 1.0),
        (state.input_tokens_limit, state.input_tokens_reset, sizes.input_tokens),
        (state.output_tokens_limit, state.output_tokens_reset, sizes.output_reserved),
    ):
        if limit is not None and need > 0:
            counts.append(int(bucket_level(limit, reset, now, window) // (need * (1 + BUCKET_MARGIN))))
    return min(counts) if counts else 0


def calls_kept_busy(state: PacingState, sizes: CallSizes, window: float = REFILL_WINDOW_SECONDS) -> int:
    """Calls in flight that spend the tightest budget as fast as it refills (Little's law: the calls a second
    it allows times how long a call takes), with :data:`BUSY_HEADROOM`; 0 with no limit or call known."""
    rates = []  # calls a second each known budget allows
    if state.requests_limit is not None:
        rates.append(state.requests_limit / window)
    if state.input_tokens_limit is not None and sizes.input_tokens > 0:
        rates.append(state.input_tokens_limit / sizes.input_tokens / window)
    if state.output_tokens_limit is not None and sizes.output_used > 0:
        rates.append(state.output_tokens_limit / sizes.output_used / window)
    if not rates or not sizes.ended:
        return 0
    return math.ceil(min(rates) * sizes.seconds * BUSY_HEADROOM)


def calls_wanted(
    state: PacingState, now: datetime, sizes: CallSizes, in_flight: int, window: float = REFILL_WINDOW_SECONDS
) -> int | None:
    """Calls in flight that the account's limits would carry now: enough to keep its budgets spent as they
    refill, and, while the buckets still hold their first full minute, the calls out plus as many more as
    the buckets would admit at once. None until a reply has told a limit."""
    if not _limits_known(state) or not sizes.started:
        return None
    return max(1, calls_kept_busy(state, sizes, window), in_flight + calls_room(state, now, sizes, window))


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


@dataclass(slots=True)
class Answer:
    """Whether a call heard back from the provider: a reply, or an HTTP error that is an answer too."""

    heard: bool = False


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
        max_in_flight: int | None = DEFAULT_MAX_CALLS_IN_FLIGHT,
        *,
        state: PacingState | None = None,
        store: PacingStore | None = None,
        max_attempts: int = MAX_ATTEMPTS_PER_CALL,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        window_seconds: float = REFILL_WINDOW_SECONDS,
    ) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._store: PacingStore = store or MemoryPacingStore(state)
        # None: adapt to the account (adapted_in_flight), starting from the default.
        self.adaptive = max_in_flight is None
        # The period the token limits are per: a minute on the real API, shorter in a time-scaled benchmark.
        self.window_seconds = window_seconds
        self._gate = Gate(max_in_flight or DEFAULT_MAX_CALLS_IN_FLIGHT)
        self.max_attempts = max_attempts
        self.in_flight = 0
        self.peak_in_flight = 0
        self.sizes = CallSizes()
        self.rate_limit_waits = 0
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        # Until a reply has come back, nothing is known of the account's limits and a burst of calls would
        # mostly be refused (8 calls of 7,000 max_tokens against 8,000 output tokens a minute): the first call
        # goes alone and the others wait for what its reply tells (see _first_call_alone).
        self._heard_back = False
        self._probing = False
        self._probe_changed = asyncio.Condition()

    @property
    def state(self) -> PacingState:
        return self._store.snapshot()

    @state.setter
    def state(self, value: PacingState) -> None:
        self._store.replace(value)

    async def current_state(self) -> PacingState:
        """The state, read without blocking the event loop (the Postgres store reads it in a thread)."""
        return await self._store.update(lambda state: state)

    @property
    def max_in_flight(self) -> int:
        return self._gate.limit

    async def calls_wanted(self) -> int | None:
        """Calls in flight the account's limits would carry now (:func:`calls_wanted`), from the shared state
        and this process's calls: what sizes the work that callers bring (conversations at once). Asked every
        second by an idle worker too, so it reads the state without writing it, and not before a call."""
        if not self.sizes.started:
            return None
        state = await asyncio.to_thread(self._store.snapshot)
        return calls_wanted(state, self._clock(), self.sizes, self.in_flight, self.window_seconds)

    @classmethod
    def from_settings(cls, settings: Settings, *, store: PacingStore | None = None) -> Pacer:
        """A pacer allowing ``TDS_MAX_CALLS_IN_FLIGHT`` calls at once, or adapting to the account when unset."""
        return cls(settings.max_calls_in_flight, store=store)

    @asynccontextmanager
    async def _first_call_alone(self) -> AsyncIterator[Answer]:
        """Hold the caller while the first call is out, or make its call the first when the limits are
        unknown and no reply has come back yet; the caller marks on the yielded :class:`Answer` whether an
        answer came back, which decides whether the others may go when the block ends."""
        alone = await self._take_turn_to_go_first()
        answer = Answer()
        try:
            yield answer
        finally:
            if alone:
                await self._first_call_ended(answered=answer.heard)

    async def limits_heard(self, info: RateLimitInfo) -> None:
        """A reply's headers, adopted: heard as a streamed reply opens, and again with every reply. The
        limits being known now, the callers held behind the first call go (on a real account its reply takes
        a minute; its headers come in the first second)."""
        state = await self._store.update(
            partial(observe_rate_limits, info=info, now=self._clock(), window=self.window_seconds)
        )
        if not _limits_known(state):
            return
        if self.adaptive:
            self._gate.limit = adapted_in_flight(state.requests_limit)
        if not self._heard_back:
            async with self._probe_changed:
                self._heard_back = True
                self._probe_changed.notify_all()

    async def _take_turn_to_go_first(self) -> bool:
        """Wait while the first call is out; True when this caller is to make it. Limits learnt by another
        worker through a shared store count as heard."""
        async with self._probe_changed:
            while not self._heard_back:
                if not self._probing:
                    if _limits_known(await self.current_state()):
                        self._heard_back = True
                        break
                    self._probing = True
                    return True
                await self._probe_changed.wait()
            return False

    async def _first_call_ended(self, *, answered: bool) -> None:
        """The first call is over: the others go when it was answered (or its headers told the limits);
        otherwise (a dropped connection, a cancelled call) the next caller is sent alone in its place."""
        heard = answered or _limits_known(await self.current_state())
        async with self._probe_changed:
            self._probing = False
            self._heard_back = self._heard_back or heard
            self._probe_changed.notify_all()

    async def _wait_for_start(self, *, input_tokens: int, output_tokens: int) -> None:
        waited = False
        while True:
            now = self._clock()
            starts: list[datetime] = []
            await self._store.update(
                partial(
                    _take_if_allowed,
                    now=now,
                    starts=starts,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    window=self.window_seconds,
                )
            )
            if starts[-1] <= now:
                return
            delay = (starts[-1] - now).total_seconds()
            if not waited:  # the jitter is a share of the window, like every other wait here
                delay += self._rng.uniform(0, START_JITTER_SECONDS * self.window_seconds / REFILL_WINDOW_SECONDS)
                waited = True
            await self._sleep(delay)

    async def call(
        self,
        make_call: Callable[[], Awaitable[ProviderReply]],
        *,
        input_tokens: int | Callable[[], int] = 0,
        output_tokens: int = 0,
    ) -> ProviderReply:
        """Run ``make_call`` (one provider call) when allowed, retrying 429/529/5xx. ``input_tokens`` is
        the call's uncached input, or a function that tells it when the call is about to start (what is
        cached may change while it waits); ``output_tokens`` is its max_tokens (what the API charges when it
        starts). What the reply did not use is given back when it ends (:func:`settle`)."""
        attempt = 0
        while True:
            backoff = 0.0
            async with self._gate, self._store.slot(), self._first_call_alone() as answer:
                limit = (await self.current_state()).output_tokens_limit
                if limit is not None and output_tokens > limit:  # learnt from a 429's headers, say
                    raise RequestTooLarge(
                        f"the call asks for {output_tokens:,} output tokens but the account allows {limit:,} "
                        "per minute (anthropic-ratelimit-output-tokens-limit); it can never start"
                    )
                needed_in = input_tokens() if callable(input_tokens) else input_tokens
                await self._wait_for_start(input_tokens=needed_in, output_tokens=output_tokens)
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                used_in = used_out = 0
                started = self._clock()
                self.sizes.start(input_tokens=needed_in, output_reserved=output_tokens)
                try:
                    reply = await make_call()
                    answer.heard = True
                    used_in = reply.usage.input_tokens + reply.usage.cache_write_tokens
                    used_out = reply.usage.output_tokens
                    self.sizes.end(seconds=(self._clock() - started).total_seconds(), output_used=used_out)
                except RateLimited as exc:
                    error: ProviderError = exc
                    answer.heard = True
                    self.rate_limit_waits += 1
                    fallback = backoff_delay(self.rate_limit_waits, self._rng)
                    now = self._clock()
                    await self._store.update(
                        partial(
                            observe_rate_limited,
                            error=exc,
                            now=now,
                            fallback_seconds=fallback,
                            window=self.window_seconds,
                        )
                    )
                    if self.rate_limit_waits <= MAX_RATE_LIMIT_WAITS:
                        continue  # waiting out a 429 is pacing, not a failed attempt
                except (Overloaded, ServerError) as exc:
                    error = exc
                    answer.heard = exc.status is not None  # None: no answer (a timeout, a dropped connection)
                    backoff = backoff_delay(attempt + 1, self._rng)
                except ProviderError:
                    answer.heard = True
                    raise
                else:
                    await self.limits_heard(reply.rate_limits)  # what its headers told, heard again at the end
                    return reply
                finally:
                    self.in_flight -= 1
                    now = self._clock()
                    await self._store.update(
                        partial(
                            settle,
                            now=now,
                            input_reserved=needed_in,
                            input_used=used_in,
                            output_reserved=output_tokens,
                            output_used=used_out,
                            window=self.window_seconds,
                        )
                    )
            attempt += 1
            if attempt >= self.max_attempts:
                raise error
            if backoff > 0:
                await self._sleep(backoff)  # outside the semaphore: a backing-off caller holds no slot


def fit_to_limits(request: GenerationRequest, output_limit: int | None) -> GenerationRequest:
    """``request`` with max_tokens at most ``output_limit`` (the account's output tokens per minute), or
    :class:`RequestTooLarge` when even its expected output does not fit."""
    if output_limit is None or request.max_output_tokens <= output_limit:
        return request
    if request.expected_output_tokens > output_limit:
        raise RequestTooLarge(
            f"{request.conversation_id} ({request.part}) needs about {request.expected_output_tokens:,} output "
            f"tokens but the account allows {output_limit:,} per minute (anthropic-ratelimit-output-tokens-limit), "
            "so the API would refuse it; nothing was sent. Use an account with a higher output limit"
        )
    return replace(request, max_output_tokens=output_limit)


class PacedProvider:
    """A :class:`~.providers.base.Provider` whose calls go through a :class:`Pacer` (waits and retries)."""

    def __init__(self, provider: Provider, pacer: Pacer) -> None:
        self.provider = provider
        self.pacer = pacer
        self.name = provider.name
        self.model = provider.model
        self._prefixes_sent: set[str] = set()

    async def generate(
        self, request: GenerationRequest, *, on_progress: Progress | None = None, on_limits: LimitsHeard | None = None
    ) -> ProviderReply:
        """Size the request to the account, then make the call when the pacer allows.

        max_tokens is lowered to the account's output-token limit per minute when it is above it (a call
        asking for more could never start); a request whose expected output or input does not fit that
        limit raises :class:`RequestTooLarge` and is never sent. The static prefix counts against the input
        budget only until a reply to it has begun: after that it is read from the prompt cache, which the
        input limit does not count.
        """
        state = await self.pacer.current_state()
        sized = fit_to_limits(request, state.output_tokens_limit)
        part_tokens = estimate_tokens(sized.conversation_part + sized.instruction_text)
        prefix_tokens = estimate_tokens(sized.static_prefix)

        def uncached() -> int:
            return part_tokens + (0 if sized.static_prefix in self._prefixes_sent else prefix_tokens)

        limit_in = state.input_tokens_limit
        if limit_in is not None and uncached() > limit_in:
            raise RequestTooLarge(
                f"{sized.conversation_id} ({sized.part}): the prompt is about {uncached():,} input tokens but the "
                f"account allows {limit_in:,} per minute (anthropic-ratelimit-input-tokens-limit); use fewer or "
                "shorter examples in the template, or an account with a higher limit"
            )

        async def heard(info: RateLimitInfo) -> None:
            # The reply has begun, so the prefix is in the prompt cache now: calls starting from here read it.
            self._prefixes_sent.add(sized.static_prefix)
            await self.pacer.limits_heard(info)
            if on_limits is not None:
                await on_limits(info)

        reply = await self.pacer.call(
            lambda: self.provider.generate(sized, on_progress=on_progress, on_limits=heard),
            input_tokens=uncached,  # told as the call starts: a reply begun meanwhile has cached the prefix
            output_tokens=sized.max_output_tokens,
        )
        self._prefixes_sent.add(sized.static_prefix)
        return reply

    async def aclose(self) -> None:
        await self.provider.aclose()
