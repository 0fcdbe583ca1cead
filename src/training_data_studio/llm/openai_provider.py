"""Any OpenAI-compatible chat completions server (Ollama, vLLM, LM Studio, OpenAI itself) via the openai SDK.

The conversation schema goes in ``response_format={"type": "json_schema", ...}``. Local servers differ in
how well they honour it, so the reply text is parsed leniently: plain JSON first, then a fenced
```` ```json ```` block, then the outermost ``{...}`` in the text. A server that rejects ``response_format``
outright (HTTP 400 naming it) is asked once more without it, and is not sent it again.

``stop_reason`` uses Anthropic's vocabulary so the checks have one word for a cut-off reply:
``finish_reason="length"`` becomes ``"max_tokens"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from .base import (
    GenerationRequest,
    LimitsHeard,
    Progress,
    ProviderError,
    ProviderRefused,
    ProviderReply,
    RateLimitInfo,
    ServerError,
    Usage,
    error_for_status,
    parse_int,
    parse_retry_after,
)

SCHEMA_NAME = "conversation"
# Same reasoning as the Anthropic provider: one non-streaming request must hold a whole conversation, and
# local models on modest hardware are slower than hosted ones.
DEFAULT_TIMEOUT_SECONDS = 900.0
# Local servers ignore the key but the SDK refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"
START_INSTRUCTION = "Write the conversation described above now. Reply with the JSON object only."
REPAIR_INSTRUCTION = (
    "That output cannot be used yet. Fix every problem listed below and reply with the COMPLETE corrected "
    "conversation as one JSON object (all turns, not only the changed parts).\n\nProblems:\n{problems}"
)
# A repair of one turn asks for that turn again, not the conversation: only what failed is resent.
TURN_REPAIR_INSTRUCTION = (
    "That turn cannot be used yet. Fix every problem listed below and reply with the complete corrected turn "
    "(this one training pair only) as one JSON object.\n\nProblems:\n{problems}"
)
EMPTY_OUTPUT_PLACEHOLDER = "(no output)"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


def parse_duration(value: str | None) -> float | None:
    """OpenAI's reset durations: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"``; ``None`` if unreadable."""
    if not value:
        return None
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value.strip():
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def openai_rate_limits(headers: Mapping[str, str], *, now: datetime | None = None) -> RateLimitInfo:
    """Parse ``x-ratelimit-*`` headers. OpenAI limits total tokens; that budget is reported as input tokens."""
    now = now or datetime.now(UTC)

    def reset(name: str) -> datetime | None:
        seconds = parse_duration(headers.get(name))
        return None if seconds is None else now + timedelta(seconds=seconds)

    return RateLimitInfo(
        requests_limit=parse_int(headers.get("x-ratelimit-limit-requests")),
        requests_remaining=parse_int(headers.get("x-ratelimit-remaining-requests")),
        requests_reset=reset("x-ratelimit-reset-requests"),
        input_tokens_remaining=parse_int(headers.get("x-ratelimit-remaining-tokens")),
        input_tokens_reset=reset("x-ratelimit-reset-tokens"),
        retry_after=parse_retry_after(headers, now=now),
    )


def parse_json_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object in a reply text: ``(object, None)`` or ``(None, why not)``."""
    candidates = [text.strip()]
    fenced = _FENCED_JSON.search(text)
    if fenced:
        candidates.append(fenced.group(1))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    last_error = "the reply is empty"
    for candidate in candidates:
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError as exc:
            last_error = f"the reply is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            continue
        if isinstance(value, dict):
            return value, None
        last_error = f"the reply is a JSON {type(value).__name__}, not an object"
    return None, last_error


def build_chat_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"{request.static_prefix}\n\n{request.conversation_part}"},
        {"role": "user", "content": START_INSTRUCTION if request.instruction is None else request.instruction},
    ]
    if request.repair is not None:
        repair = REPAIR_INSTRUCTION if request.instruction is None else TURN_REPAIR_INSTRUCTION
        messages.append({"role": "assistant", "content": request.repair.previous_output or EMPTY_OUTPUT_PLACEHOLDER})
        messages.append({"role": "user", "content": repair.format(problems=request.repair.problems)})
    return messages


def reply_from_completion(
    completion: ChatCompletion, *, raw_response: str, rate_limits: RateLimitInfo
) -> ProviderReply:
    choice = completion.choices[0] if completion.choices else None
    text = (choice.message.content or "") if choice is not None else ""
    finish = choice.finish_reason if choice is not None else None
    stop_reason = "max_tokens" if finish == "length" else finish
    data, parse_error = parse_json_object(text)
    usage = Usage()
    if completion.usage is not None:
        details = completion.usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details is not None else 0
        usage = Usage(
            input_tokens=max(0, completion.usage.prompt_tokens - cached),
            output_tokens=completion.usage.completion_tokens,
            cache_read_tokens=cached,
        )
    return ProviderReply(
        data=data,
        output_text=text,
        raw_response=raw_response,
        stop_reason=stop_reason,
        usage=usage,
        model=completion.model,
        rate_limits=rate_limits,
        parse_error=parse_error,
    )


class OpenAICompatibleProvider:
    """:class:`~.base.Provider` for an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    name = "openai_compatible"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.model = model
        self.json_schema_supported = True
        # max_retries=0: retries belong to the pacer (see the Anthropic provider).
        self._client = openai.AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY, base_url=base_url, max_retries=0, timeout=timeout_seconds
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(
        self, request: GenerationRequest, *, on_progress: Progress | None = None, on_limits: LimitsHeard | None = None
    ) -> ProviderReply:
        """One call, not streamed (local OpenAI-compatible servers differ in how they stream usage and
        structured output); ``on_progress`` hears the output tokens once the reply is in, and the limits come
        with the reply (``on_limits`` is not called)."""
        try:
            reply = await self._call(request)
        except ProviderRefused as exc:
            if not (self.json_schema_supported and exc.status == 400 and "response_format" in (exc.body or "")):
                raise
            self.json_schema_supported = False
            reply = await self._call(request)
        if on_progress is not None:
            on_progress(reply.usage.output_tokens)
        return reply

    async def _call(self, request: GenerationRequest) -> ProviderReply:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": build_chat_messages(request),
            "max_tokens": request.max_output_tokens,
        }
        if self.json_schema_supported:
            params["response_format"] = {
                "type": "json_schema",
                # strict mode needs additionalProperties=false everywhere; our schema keeps unknown keys.
                "json_schema": {"name": SCHEMA_NAME, "schema": request.schema, "strict": False},
            }
        try:
            raw = await self._client.chat.completions.with_raw_response.create(**params)
            completion = raw.parse()
        except openai.APIStatusError as exc:
            raise _status_error(exc) from exc
        except openai.APIConnectionError as exc:  # includes timeouts
            raise ServerError(f"could not reach the OpenAI-compatible server: {exc}") from exc
        return reply_from_completion(completion, raw_response=raw.text, rate_limits=openai_rate_limits(raw.headers))


def _status_error(exc: openai.APIStatusError) -> ProviderError:
    headers = exc.response.headers
    return error_for_status(
        exc.status_code,
        f"the OpenAI-compatible server returned HTTP {exc.status_code}: {exc.message}",
        body=exc.response.text,
        retry_after=parse_retry_after(headers),
        rate_limits=openai_rate_limits(headers),
    )
