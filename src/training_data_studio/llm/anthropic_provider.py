"""Claude through the official SDK: forced tool use returns the conversation as the tool's JSON input.

The system prompt is two blocks: the static prefix (voice rules, output rules, template guidance, seed
examples), marked ``cache_control: ephemeral`` so every conversation of a template after the first reads
it from the prompt cache, then the per-conversation part. The tool definition comes before the system
prompt in Anthropic's cache order, so it is inside the cached prefix too.

The Message Batches API (half price, results within 24 hours) uses the same request parameters:
:meth:`AnthropicProvider.submit_batch`, :meth:`~AnthropicProvider.batch_status` and
:meth:`~AnthropicProvider.batch_results`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic
from anthropic.types import Message

from .base import (
    CHARS_PER_TOKEN,
    GenerationRequest,
    LimitsHeard,
    Overloaded,
    Progress,
    ProviderError,
    ProviderRefused,
    ProviderReply,
    RateLimited,
    RateLimitInfo,
    ServerError,
    Usage,
    error_for_status,
    parse_int,
    parse_retry_after,
    parse_timestamp,
)

TOOL_NAME = "record_conversation"
TOOL_DESCRIPTION = (
    "Record one complete annotated conversation: its conversation_metadata and every training pair (turn) "
    "in order. Call it exactly once with the whole conversation."
)
# Calls are streamed, so this bounds each read of the stream (and connecting), not the whole call: a stream
# that sends nothing for 10 minutes is dead.
DEFAULT_TIMEOUT_SECONDS = 600.0
# The user turn that starts the first attempt; the conversation itself is described in the system prompt.
START_INSTRUCTION = "Write the conversation described above now, by calling the {tool} tool once with all of it."
REPAIR_INSTRUCTION = (
    "That output cannot be used yet. Fix every problem listed below and call the {tool} tool again with the "
    "COMPLETE corrected conversation (all turns, not only the changed parts).\n\nProblems:\n{problems}"
)
TURN_TOOL_DESCRIPTION = "Record one annotated turn (one training pair) of the conversation. Call it exactly once."
# A repair of one turn asks for that turn again, not the conversation: only what failed is resent.
TURN_REPAIR_INSTRUCTION = (
    "That turn cannot be used yet. Fix every problem listed below and call the {tool} tool again with the "
    "complete corrected turn (this one training pair only).\n\nProblems:\n{problems}"
)
# An assistant turn may not be empty; this stands in for a reply that had no text at all.
EMPTY_OUTPUT_PLACEHOLDER = "(no output)"


def anthropic_rate_limits(headers: Mapping[str, str]) -> RateLimitInfo:
    """Parse the ``anthropic-ratelimit-*`` and ``retry-after`` headers."""
    prefix = "anthropic-ratelimit-"
    return RateLimitInfo(
        requests_limit=parse_int(headers.get(f"{prefix}requests-limit")),
        requests_remaining=parse_int(headers.get(f"{prefix}requests-remaining")),
        requests_reset=parse_timestamp(headers.get(f"{prefix}requests-reset")),
        input_tokens_limit=parse_int(headers.get(f"{prefix}input-tokens-limit")),
        input_tokens_remaining=parse_int(headers.get(f"{prefix}input-tokens-remaining")),
        input_tokens_reset=parse_timestamp(headers.get(f"{prefix}input-tokens-reset")),
        output_tokens_limit=parse_int(headers.get(f"{prefix}output-tokens-limit")),
        output_tokens_remaining=parse_int(headers.get(f"{prefix}output-tokens-remaining")),
        output_tokens_reset=parse_timestamp(headers.get(f"{prefix}output-tokens-reset")),
        retry_after=parse_retry_after(headers),
    )


def build_message_params(request: GenerationRequest, *, model: str) -> dict[str, Any]:
    """The ``messages.create`` parameters for one request (also one entry of a message batch)."""
    system: list[dict[str, Any]] = [
        {"type": "text", "text": request.static_prefix, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": request.conversation_part},
    ]
    tool = request.tool_name or TOOL_NAME
    if request.instruction is not None:
        start = f"{request.instruction} Call the {tool} tool once with it."
        repair = TURN_REPAIR_INSTRUCTION
        description = TURN_TOOL_DESCRIPTION
    else:
        start, repair, description = START_INSTRUCTION.format(tool=tool), REPAIR_INSTRUCTION, TOOL_DESCRIPTION
    messages: list[dict[str, Any]] = [{"role": "user", "content": start}]
    if request.repair is not None:
        messages.append({"role": "assistant", "content": request.repair.previous_output or EMPTY_OUTPUT_PLACEHOLDER})
        messages.append({"role": "user", "content": repair.format(tool=tool, problems=request.repair.problems)})
    return {
        "model": model,
        "max_tokens": request.max_output_tokens,
        "system": system,
        "messages": messages,
        "tools": [{"name": tool, "description": description, "input_schema": request.schema}],
        "tool_choice": {"type": "tool", "name": tool, "disable_parallel_tool_use": True},
    }


def reply_from_message(message: Message, *, raw_response: str, rate_limits: RateLimitInfo) -> ProviderReply:
    """Turn an SDK ``Message`` into a :class:`ProviderReply` (the tool input, else any text as JSON)."""
    usage = Usage(
        input_tokens=message.usage.input_tokens,
        output_tokens=message.usage.output_tokens,
        cache_read_tokens=message.usage.cache_read_input_tokens or 0,
        cache_write_tokens=message.usage.cache_creation_input_tokens or 0,
    )
    data: dict[str, Any] | None = None
    parse_error: str | None = None
    texts: list[str] = []
    for block in message.content:
        if block.type == "tool_use":  # tool_choice forces the one tool of the request
            if isinstance(block.input, dict):
                data = block.input
            else:
                parse_error = f"the tool input is {type(block.input).__name__}, not a JSON object"
            break
        if block.type == "text":
            texts.append(block.text)
    if data is not None:
        output_text = json.dumps(data, ensure_ascii=False)
    else:
        output_text = "".join(texts)
        if parse_error is None:
            parse_error = "the reply did not call the tool it was given"
    return ProviderReply(
        data=data,
        output_text=output_text,
        raw_response=raw_response,
        stop_reason=message.stop_reason,
        usage=usage,
        model=message.model,
        rate_limits=rate_limits,
        parse_error=parse_error,
    )


@dataclass(frozen=True, slots=True)
class BatchStatus:
    batch_id: str
    processing_status: str
    succeeded: int
    errored: int
    canceled: int
    expired: int
    processing: int

    @property
    def ended(self) -> bool:
        return self.processing_status == "ended"


def _batch_error(result_type: str, error_type: str | None, message: str) -> ProviderError:
    if result_type in ("canceled", "expired"):
        return ServerError(f"batch request {result_type} before it was processed")
    if error_type == "overloaded_error":
        return Overloaded(message)
    if error_type == "rate_limit_error":
        return RateLimited(message, retry_after=None)
    if error_type in ("api_error", "timeout_error", "gateway_timeout_error"):
        return ServerError(message)
    return ProviderRefused(message)


class AnthropicProvider:
    """:class:`~.base.Provider` for Claude. ``base_url=None`` lets the SDK read ``ANTHROPIC_BASE_URL``."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.model = model
        # max_retries=0: the pacer owns retries, so a 429 blocks every caller instead of each SDK client
        # retrying on its own schedule.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_seconds
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(
        self, request: GenerationRequest, *, on_progress: Progress | None = None, on_limits: LimitsHeard | None = None
    ) -> ProviderReply:
        """One streamed call: the reply is accumulated as it arrives (a long non-streaming request risks the
        API's 10-minute limit and idle connections dropped on the way), ``on_limits`` hears the rate-limit
        headers as soon as the stream opens, and ``on_progress`` the output tokens so far. ``raw_response``
        is the final message as JSON."""
        params = build_message_params(request, model=self.model)
        received = 0
        try:
            async with self._client.messages.stream(**params) as stream:
                if on_limits is not None:
                    await on_limits(anthropic_rate_limits(stream.response.headers))
                async for event in stream:
                    if on_progress is None:
                        continue
                    if event.type == "input_json":
                        received += len(event.partial_json)
                    elif event.type == "text":
                        received += len(event.text)
                    else:
                        continue
                    on_progress(received // CHARS_PER_TOKEN)
                message = await stream.get_final_message()
                headers = stream.response.headers
        except anthropic.APIStatusError as exc:
            raise _status_error(exc) from exc
        except anthropic.APIConnectionError as exc:  # includes timeouts and connections dropped mid-stream
            raise ServerError(f"could not reach the Anthropic API: {exc}") from exc
        except anthropic.APIError as exc:  # an error event inside the stream
            raise ServerError(f"the Anthropic API stream failed: {exc}") from exc
        if on_progress is not None:
            on_progress(message.usage.output_tokens)
        return reply_from_message(
            message, raw_response=message.to_json(indent=None), rate_limits=anthropic_rate_limits(headers)
        )

    async def submit_batch(self, requests: Sequence[tuple[str, GenerationRequest]]) -> str:
        """Submit ``(custom_id, request)`` pairs as one message batch; returns the batch id."""
        entries: list[Any] = [
            {"custom_id": custom_id, "params": build_message_params(request, model=self.model)}
            for custom_id, request in requests
        ]
        try:
            batch = await self._client.messages.batches.create(requests=entries)
        except anthropic.APIStatusError as exc:
            raise _status_error(exc) from exc
        except anthropic.APIConnectionError as exc:
            raise ServerError(f"could not reach the Anthropic API: {exc}") from exc
        return batch.id

    async def batch_status(self, batch_id: str) -> BatchStatus:
        try:
            batch = await self._client.messages.batches.retrieve(batch_id)
        except anthropic.APIStatusError as exc:
            raise _status_error(exc) from exc
        except anthropic.APIConnectionError as exc:
            raise ServerError(f"could not reach the Anthropic API: {exc}") from exc
        counts = batch.request_counts
        return BatchStatus(
            batch_id=batch.id,
            processing_status=batch.processing_status,
            succeeded=counts.succeeded,
            errored=counts.errored,
            canceled=counts.canceled,
            expired=counts.expired,
            processing=counts.processing,
        )

    async def batch_results(self, batch_id: str) -> dict[str, ProviderReply | ProviderError]:
        """Every request of an ended batch by ``custom_id``: a reply, or the error that request got."""
        results: dict[str, ProviderReply | ProviderError] = {}
        try:
            decoder = await self._client.messages.batches.results(batch_id)
            async for item in decoder:
                result = item.result
                if result.type == "succeeded":
                    results[item.custom_id] = reply_from_message(
                        result.message,
                        raw_response=result.message.to_json(indent=None),
                        rate_limits=RateLimitInfo(),
                    )
                elif result.type == "errored":
                    error = result.error.error
                    results[item.custom_id] = _batch_error(result.type, error.type, error.message)
                else:
                    results[item.custom_id] = _batch_error(result.type, None, result.type)
        except anthropic.APIStatusError as exc:
            raise _status_error(exc) from exc
        except anthropic.APIConnectionError as exc:
            raise ServerError(f"could not reach the Anthropic API: {exc}") from exc
        return results


def _status_error(exc: anthropic.APIStatusError) -> ProviderError:
    headers = exc.response.headers
    detail = exc.api_message or exc.message
    return error_for_status(
        exc.status_code,
        f"Anthropic returned HTTP {exc.status_code}: {detail}",
        body=exc.response.text,
        retry_after=parse_retry_after(headers),
        rate_limits=anthropic_rate_limits(headers),
    )
