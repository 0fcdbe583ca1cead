"""What every LLM provider speaks: one request in, one reply (or one typed error) out.

A provider makes exactly one HTTP call per :meth:`Provider.generate` and never retries: the SDKs are built
with ``max_retries=0`` so that pacing and retries live in one place (:mod:`..pacing`), where they can be
shared by every worker.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

# Rough size of a token for English prose and JSON. Good enough for pacing and cost estimates; the
# provider's usage numbers replace it as soon as a call returns.
CHARS_PER_TOKEN = 4
# Longest error-body excerpt kept on an exception: enough to read the provider's message, short enough for a
# log line and a job event.
ERROR_BODY_EXCERPT_CHARS = 500


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` at :data:`CHARS_PER_TOKEN` characters per token (rounded up)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class Repair:
    """The second half of a repair round trip: what the model wrote and what was wrong with it."""

    previous_output: str
    problems: str


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One structured-output call for one conversation.

    ``static_prefix`` is identical for every conversation that shares a template and examples, so
    providers that support prompt caching mark it cacheable; ``conversation_part`` is what changes per
    conversation. ``schema`` is the JSON schema the reply must follow. ``max_output_tokens`` is the hard
    limit sent to the API; ``expected_output_tokens`` is the estimate of what the reply will use.
    ``instruction`` is the user message that starts the call and ``tool_name`` the structured-output tool
    (providers use their whole-conversation defaults when they are None); ``part`` names what this call
    writes ("turn 2 of 4") for progress and error messages.
    """

    conversation_id: str
    static_prefix: str
    conversation_part: str
    schema: dict[str, Any]
    max_output_tokens: int
    expected_output_tokens: int = 0
    repair: Repair | None = None
    instruction: str | None = None
    tool_name: str | None = None
    part: str = "conversation"

    @property
    def instruction_text(self) -> str:
        """What the call sends besides the system prompt: its instruction and a repair's two messages."""
        text = self.instruction or ""
        if self.repair is not None:
            text += self.repair.previous_output + self.repair.problems
        return text

    @property
    def estimated_input_tokens(self) -> int:
        text = self.static_prefix + self.conversation_part
        if self.repair is not None:
            text += self.repair.previous_output + self.repair.problems
        return estimate_tokens(text)

    def with_repair(self, repair: Repair) -> GenerationRequest:
        return replace(self, repair=repair)


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens billed for one call (or summed over several)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What the provider's response headers said about our remaining budget (``None`` = not reported)."""

    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset: datetime | None = None
    input_tokens_limit: int | None = None
    input_tokens_remaining: int | None = None
    input_tokens_reset: datetime | None = None
    output_tokens_limit: int | None = None
    output_tokens_remaining: int | None = None
    output_tokens_reset: datetime | None = None
    retry_after: float | None = None


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date); ``None`` if absent."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_timestamp(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp (``2026-11-25T14:00:00Z``); ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def in_seconds(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class ProviderReply:
    """One reply: the parsed JSON object (or the text when it was not JSON) and everything billed.

    ``output_text`` is what the model wrote (the tool input as JSON, or the message text); it is what a
    repair round trip sends back. ``raw_response`` is the whole HTTP body as received, kept so a reviewer
    can see exactly what came back, failed attempts included.
    """

    data: dict[str, Any] | None
    output_text: str
    raw_response: str
    stop_reason: str | None
    usage: Usage
    model: str
    rate_limits: RateLimitInfo = field(default_factory=RateLimitInfo)
    parse_error: str | None = None

    @property
    def truncated(self) -> bool:
        return self.stop_reason == "max_tokens"


class ProviderError(Exception):
    """A call that did not produce a reply. ``retryable`` says whether the same call may succeed later."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body[:ERROR_BODY_EXCERPT_CHARS] if body else None


class RateLimited(ProviderError):
    """HTTP 429: wait ``retry_after`` seconds (when the provider said) before any further call."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None,
        rate_limits: RateLimitInfo | None = None,
        status: int | None = 429,
        body: str | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after
        self.rate_limits = rate_limits or RateLimitInfo(retry_after=retry_after)


class Overloaded(ProviderError):
    """HTTP 529 (Anthropic's "overloaded"): back off and try again."""

    retryable = True


class ServerError(ProviderError):
    """HTTP 5xx, a timeout or a dropped connection (``status`` is ``None`` then): back off and try again."""

    retryable = True


class ProviderRefused(ProviderError):
    """Any other 4xx: the request itself is wrong (bad key, bad model, too large); retrying will not help."""

    retryable = False


def error_for_status(
    status: int,
    message: str,
    *,
    body: str | None,
    retry_after: float | None,
    rate_limits: RateLimitInfo | None = None,
) -> ProviderError:
    """The typed error for an HTTP status, the same mapping for every provider."""
    if status == 429:
        return RateLimited(message, retry_after=retry_after, rate_limits=rate_limits, body=body)
    if status == 529:
        return Overloaded(message, status=status, body=body)
    if status >= 500:
        return ServerError(message, status=status, body=body)
    return ProviderRefused(message, status=status, body=body)


# Called while a reply streams in, with the output tokens received so far (estimated from the characters
# until the final usage arrives).
Progress = Callable[[int], None]
# Called as soon as a streamed reply's headers arrive, with the limits they tell: a reply of minutes tells the
# account's limits in its first second (the pacer lets the other callers go on them).
LimitsHeard = Callable[[RateLimitInfo], Awaitable[None]]


class RequestTooLarge(ProviderError):
    """A request that cannot fit the account's limits (its output or input tokens per minute): it is never
    sent, because the API would refuse it however long we waited."""

    retryable = False


class Provider(Protocol):
    """An LLM that can write one conversation as structured output."""

    name: str
    model: str

    async def generate(
        self, request: GenerationRequest, *, on_progress: Progress | None = None, on_limits: LimitsHeard | None = None
    ) -> ProviderReply:
        """Make exactly one call (streamed where the provider can); raise a :class:`ProviderError` subclass
        when no reply came back. ``on_limits`` hears the headers' limits as soon as they arrive, where the
        provider streams; otherwise they come with the reply only."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...
