"""A fake Anthropic Messages API over real HTTP, enough for the official SDK (see fake_llm for faults).

* ``POST /v1/messages``: a ``tool_use`` block whose input is a conversation built from our sample seeds for
  the conversation id and turn count the prompt asks for; usage with prompt-cache numbers (a system block
  marked ``cache_control`` is written to the cache the first time and read afterwards); and the
  ``anthropic-ratelimit-*`` headers.
* ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results``
  (JSONL): each request of a batch gets an outcome as a single call would; a batch ends
  ``batch_seconds`` after it was created.

Use it as a context manager, then point the SDK at ``fake.url`` (``ANTHROPIC_BASE_URL``).

``responder`` (optional) answers requests that are not for a conversation: it gets the request parameters
and returns the tool input to send back, or None to answer with a conversation as usual (the quality
judge's tests use it to return a judgement built from the request).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from training_data_studio.testing.fake_llm import (
    FakeConfig,
    FakeLLMServer,
    Response,
    estimate_tokens,
    faulty_conversation,
    faulty_pair,
    iter_texts,
    json_response,
    requested_conversation,
    requested_turn,
)
from training_data_studio.testing.rate_buckets import RateBuckets

MODEL = "claude-sonnet-4-6"
# A streamed reply arrives in deltas of this many characters of the tool input's JSON.
STREAM_CHUNK_CHARS = 400
INPUT_TOKENS_LIMIT = 2_000_000
OUTPUT_TOKENS_LIMIT = 400_000

_ERRORS = {
    "rate_limited": (429, "rate_limit_error", "Number of requests has exceeded your rate limit."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Batch:
    id: str
    created_at: datetime
    results: list[dict[str, Any]] = field(default_factory=list)


class FakeAnthropic(FakeLLMServer):
    name = "fake-anthropic"

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        batch_seconds: float = 0.0,
        responder: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    ) -> None:
        super().__init__(config)
        self.batch_seconds = batch_seconds
        self.responder = responder
        self.batches: dict[str, _Batch] = {}
        self._cached_prefixes: set[str] = set()
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()
        limits = self.config.token_limits
        self.buckets = RateBuckets(limits, window_seconds=self.config.window_seconds) if limits is not None else None

    def _next_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    # -- routing -----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response:
        if method == "POST" and path == "/v1/messages":
            return self._messages(body)
        if method == "POST" and path == "/v1/messages/batches":
            return self._create_batch(body)
        if method == "GET" and path.startswith("/v1/messages/batches/"):
            rest = path.removeprefix("/v1/messages/batches/")
            if rest.endswith("/results"):
                return self._batch_results(rest.removesuffix("/results"))
            return self._batch_status(rest)
        return self._error(404, "not_found_error", f"no route for {method} {path}")

    # -- messages ----------------------------------------------------------------------------------

    def _messages(self, body: Any) -> Response:
        self.enter_call(body)
        params: dict[str, Any] = body if isinstance(body, dict) else {}
        streamed: Response | None = None
        try:
            # Like the real API, a request over the limit is refused on arrival, before any work.
            if self.buckets is not None:
                write, _, uncached = self._cache_usage(params, commit=False)
                wait = self.buckets.admit(input_tokens=uncached + write, max_tokens=int(params.get("max_tokens", 0)))
            else:
                wait = self.request_retry_after()
            if wait is not None:
                self.count_request_rejection()
                if math.isinf(wait):  # more than the limit itself: no wait makes it fit
                    return self._error(429, "rate_limit_error", "This request would exceed your rate limit.")
                return self._error(429, "rate_limit_error", "rate limit exceeded", retry_after=wait)
            if self.config.output_tokens_per_second is None:
                self.sleep_latency()
            outcome = self.next_outcome()
            if outcome in _ERRORS:
                self._settle(params, 0)
                status, kind, message = _ERRORS[outcome]
                retry = self.config.retry_after_seconds if outcome == "rate_limited" else None
                return self._error(status, kind, message, retry_after=retry)
            message_body = self.message_for(params, outcome)
            output_tokens = int(message_body["usage"]["output_tokens"])
            service = self._service_seconds(output_tokens)
            if params.get("stream"):
                streamed = self._stream(message_body, service)

                # Like the API, the unused part of max_tokens is given back as the call ends, before the
                # client has the last event (and so before it can start another call on that budget).
                settled: list[bool] = []

                def settle_once() -> None:
                    if not settled:
                        settled.append(True)
                        self._settle(params, output_tokens)

                def done() -> None:
                    settle_once()
                    self.leave_call()

                streamed.before_last_chunk = settle_once
                streamed.on_done = done
                return streamed
            if service > 0:
                time.sleep(service)
            self._settle(params, output_tokens)
            return json_response(200, message_body, self.rate_limit_headers())
        finally:
            if streamed is None:
                self.leave_call()

    def _service_seconds(self, output_tokens: int) -> float:
        rate = self.config.output_tokens_per_second
        return 0.0 if rate is None else output_tokens / rate

    def _settle(self, params: dict[str, Any], output_tokens: int) -> None:
        if self.buckets is not None:
            self.buckets.settle(max_tokens=int(params.get("max_tokens", 0)), output_tokens=output_tokens)

    def _stream(self, message: dict[str, Any], service_seconds: float) -> Response:
        """The message as the server-sent events of a streaming call, spread over ``service_seconds``."""
        block = message["content"][0]
        text = json.dumps(block["input"])
        pieces = [text[i : i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)] or [""]
        usage = message["usage"]
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {**block, "input": {}}},
            ),
        ]
        events += [
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}},
            )
            for p in pieces
        ]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        chunks = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
        return Response(
            200,
            b"",
            self.rate_limit_headers(),
            content_type="text/event-stream",
            chunks=chunks,
            # The pauses fall between the chunks, so they add up to the service time: the stated output speed.
            chunk_delay=service_seconds / max(1, len(chunks) - 1),
        )

    def message_for(self, params: dict[str, Any], outcome: str) -> dict[str, Any]:
        """A Messages API reply to ``params`` for a content outcome."""
        data = self.responder(params) if self.responder is not None else None
        if data is None:
            texts = list(iter_texts(params))
            conversation_id, turns = requested_conversation(texts)
            turn = requested_turn(texts)
            if turn is None:
                data = faulty_conversation(outcome, conversation_id, turns, variant=self.variant())
            else:
                data = faulty_pair(outcome, conversation_id, turn, variant=self.variant())
        tools = params.get("tools") or [{"name": "record_conversation"}]
        cache_write, cache_read, uncached = self._cache_usage(params)
        output_tokens = estimate_tokens(json.dumps(data))
        max_tokens = params.get("max_tokens")
        if self.config.token_limits is not None and isinstance(max_tokens, int) and output_tokens > max_tokens:
            # Token-aware mode: a reply longer than max_tokens is cut off there, as the real API does.
            outcome, output_tokens = "truncated", max_tokens
        number = self._next_id()
        return {
            "id": f"msg_fake_{number:06d}",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [
                {"type": "tool_use", "id": f"toolu_fake_{number:06d}", "name": tools[0]["name"], "input": data}
            ],
            "stop_reason": "max_tokens" if outcome == "truncated" else "tool_use",
            "stop_sequence": None,
            "usage": {
                "input_tokens": uncached,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
            },
        }

    def _cache_usage(self, params: dict[str, Any], *, commit: bool = True) -> tuple[int, int, int]:
        """(cache write, cache read, uncached input) tokens for a request (``commit``: remember the prefix)."""
        system = params.get("system")
        blocks = system if isinstance(system, list) else [{"text": system or ""}]
        cached_text = "".join(block.get("text", "") for block in blocks if block.get("cache_control"))
        other_text = "".join(block.get("text", "") for block in blocks if not block.get("cache_control"))
        other_text += "".join(iter_texts(params.get("messages", [])))
        uncached = estimate_tokens(other_text)
        if not cached_text:
            return 0, 0, uncached
        key = hashlib.sha256(cached_text.encode()).hexdigest()
        tokens = estimate_tokens(cached_text)
        with self._id_lock:
            if key in self._cached_prefixes:
                return 0, tokens, uncached
            if commit:
                self._cached_prefixes.add(key)
        return tokens, 0, uncached

    def rate_limit_headers(self) -> dict[str, str]:
        if self.buckets is not None:
            return self.buckets.headers()
        limit, remaining, reset_seconds = self.request_state()
        now = datetime.now(UTC)
        reset = _iso(now + timedelta(seconds=reset_seconds))
        full = _iso(now)  # this mode limits requests only: its token buckets are always full
        return {
            "anthropic-ratelimit-requests-limit": str(limit),
            "anthropic-ratelimit-requests-remaining": str(remaining),
            "anthropic-ratelimit-requests-reset": reset,
            "anthropic-ratelimit-input-tokens-limit": str(INPUT_TOKENS_LIMIT),
            "anthropic-ratelimit-input-tokens-remaining": str(INPUT_TOKENS_LIMIT),
            "anthropic-ratelimit-input-tokens-reset": full,
            "anthropic-ratelimit-output-tokens-limit": str(OUTPUT_TOKENS_LIMIT),
            "anthropic-ratelimit-output-tokens-remaining": str(OUTPUT_TOKENS_LIMIT),
            "anthropic-ratelimit-output-tokens-reset": full,
        }

    def _error(self, status: int, kind: str, message: str, *, retry_after: float | None = None) -> Response:
        headers = self.rate_limit_headers()
        if retry_after is not None:
            headers["retry-after"] = str(max(1, math.ceil(retry_after)))
            if self.buckets is not None and self.config.window_seconds < 60:
                # A time-scaled run: whole seconds would be whole scaled minutes.
                headers["retry-after-ms"] = str(math.ceil(retry_after * 1000))
        return json_response(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)

    # -- batches -----------------------------------------------------------------------------------

    def _create_batch(self, body: Any) -> Response:
        requests = body.get("requests", []) if isinstance(body, dict) else []
        batch = _Batch(id=f"msgbatch_fake_{self._next_id():06d}", created_at=datetime.now(UTC))
        for entry in requests:
            outcome = self.next_outcome()
            if outcome in _ERRORS:
                _, kind, message = _ERRORS[outcome]
                result: dict[str, Any] = {
                    "type": "errored",
                    "error": {"type": "error", "error": {"type": kind, "message": message}},
                }
            else:
                result = {"type": "succeeded", "message": self.message_for(entry.get("params", {}), outcome)}
            batch.results.append({"custom_id": entry.get("custom_id"), "result": result})
        self.batches[batch.id] = batch
        return json_response(200, self._batch_json(batch))

    def _ended(self, batch: _Batch) -> bool:
        return datetime.now(UTC) >= batch.created_at + timedelta(seconds=self.batch_seconds)

    def _batch_json(self, batch: _Batch) -> dict[str, Any]:
        ended = self._ended(batch)
        total = len(batch.results)
        succeeded = sum(1 for r in batch.results if r["result"]["type"] == "succeeded")
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else total,
                "succeeded": succeeded if ended else 0,
                "errored": total - succeeded if ended else 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + timedelta(hours=24)),
            "ended_at": _iso(datetime.now(UTC)) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _batch_status(self, batch_id: str) -> Response:
        batch = self.batches.get(batch_id)
        if batch is None:
            return self._error(404, "not_found_error", f"batch {batch_id} not found")
        return json_response(200, self._batch_json(batch))

    def _batch_results(self, batch_id: str) -> Response:
        batch = self.batches.get(batch_id)
        if batch is None or not self._ended(batch):
            return self._error(404, "not_found_error", f"no results for batch {batch_id}")
        lines = "".join(json.dumps(result) + "\n" for result in batch.results)
        return Response(200, lines.encode(), content_type="application/binary")

    def wait_for_batches(self) -> None:
        """Block until every batch has ended (for tests with ``batch_seconds`` > 0)."""
        while any(not self._ended(batch) for batch in self.batches.values()):
            time.sleep(0.01)
