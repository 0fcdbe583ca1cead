"""Rate limits as the Anthropic API applies them, for the fake server's token-aware mode.

Three token buckets per account: requests, input tokens and output tokens per minute. Each holds at most
its limit and refills continuously at limit per ``window_seconds`` (60 s on the real API; shorter in a
scaled benchmark). A request is admitted only when every bucket holds what it needs: one request, its
uncached input tokens (prompt-cache reads do not count) and its ``max_tokens`` of output, taken up front;
when the reply is done the unused part of ``max_tokens`` goes back to the output bucket. A request that is
not admitted gets a 429 with ``retry-after`` = the time until it would be, and every reply carries the
``anthropic-ratelimit-*`` headers (limit, remaining, reset = when the bucket is full again).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Limits:
    requests_per_minute: int
    input_tokens_per_minute: int
    output_tokens_per_minute: int


# The tiers the benchmark reports (Claude Sonnet, per minute).
LOW_TIER = Limits(requests_per_minute=50, input_tokens_per_minute=30_000, output_tokens_per_minute=8_000)
HIGH_TIER = Limits(requests_per_minute=4_000, input_tokens_per_minute=2_000_000, output_tokens_per_minute=400_000)


@dataclass
class Bucket:
    limit: int
    window_seconds: float
    level: float = field(init=False)
    at: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.level = float(self.limit)

    def refill(self, now: float) -> None:
        rate = self.limit / self.window_seconds
        self.level = min(float(self.limit), self.level + (now - self.at) * rate)
        self.at = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (inf when it never can be: more than the limit)."""
        if amount > self.limit:
            return math.inf
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing / (self.limit / self.window_seconds)

    def seconds_to_full(self) -> float:
        return (self.limit - self.level) / (self.limit / self.window_seconds)


class RateBuckets:
    """The three buckets of one account, safe to use from the fake server's threads."""

    def __init__(
        self, limits: Limits, *, window_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.window_seconds = window_seconds
        self._clock = clock
        now = clock()
        self._requests = Bucket(limits.requests_per_minute, window_seconds, at=now)
        self._input = Bucket(limits.input_tokens_per_minute, window_seconds, at=now)
        self._output = Bucket(limits.output_tokens_per_minute, window_seconds, at=now)
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        for bucket in (self._requests, self._input, self._output):
            bucket.refill(now)

    def admit(self, *, input_tokens: int, max_tokens: int) -> float | None:
        """Take what the request needs and return None, or take nothing and return the seconds to wait."""
        with self._lock:
            self._refill()
            wait = max(
                self._requests.wait_for(1),
                self._input.wait_for(input_tokens),
                self._output.wait_for(max_tokens),
            )
            if wait > 0:
                return wait
            self._requests.level -= 1
            self._input.level -= input_tokens
            self._output.level -= max_tokens
            return None

    def settle(self, *, max_tokens: int, output_tokens: int) -> None:
        """The reply used ``output_tokens`` of the ``max_tokens`` taken: give the rest back."""
        with self._lock:
            self._refill()
            self._output.level = min(float(self._output.limit), self._output.level + max(0, max_tokens - output_tokens))

    def headers(self) -> dict[str, str]:
        with self._lock:
            self._refill()
            now = datetime.now(UTC)
            headers: dict[str, str] = {}
            for name, bucket in (
                ("requests", self._requests),
                ("input-tokens", self._input),
                ("output-tokens", self._output),
            ):
                reset = now + timedelta(seconds=bucket.seconds_to_full())
                headers[f"anthropic-ratelimit-{name}-limit"] = str(bucket.limit)
                headers[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, math.floor(bucket.level)))
                headers[f"anthropic-ratelimit-{name}-reset"] = reset.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                )
            return headers
