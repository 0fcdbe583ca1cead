"""A fake OpenAI-compatible ``POST /v1/chat/completions`` over real HTTP (see fake_llm for faults).

The reply's message content is the conversation as JSON text; ``wrap_in_prose`` wraps it in a sentence and
a fenced block (as small local models do), and ``reject_response_format`` answers 400 to any request that
sends ``response_format`` (as some servers do). Point the openai SDK at ``fake.url + "/v1"``.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
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

MODEL = "llama-fake:8b"
TOKENS_LIMIT = 1_000_000

_ERRORS = {
    "rate_limited": (429, "rate_limit_exceeded", "Rate limit reached for requests"),
    "overloaded": (529, "overloaded", "The server is overloaded"),
    "server_error": (500, "server_error", "The server had an error while processing your request"),
}


class FakeOpenAI(FakeLLMServer):
    name = "fake-openai"

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        wrap_in_prose: bool = False,
        reject_response_format: bool = False,
    ) -> None:
        super().__init__(config)
        self.wrap_in_prose = wrap_in_prose
        self.reject_response_format = reject_response_format
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def handle(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response:
        if method == "POST" and path == "/v1/chat/completions":
            return self._completions(body if isinstance(body, dict) else {})
        return self._error(404, "not_found", f"no route for {method} {path}")

    def _completions(self, params: dict[str, Any]) -> Response:
        self.enter_call(params)
        try:
            self.sleep_latency()
            if self.reject_response_format and "response_format" in params:
                return self._error(400, "invalid_request_error", "response_format is not supported by this server")
            wait = self.request_retry_after()
            if wait is not None:
                self.count_request_rejection()
                return self._error(429, "rate_limit_exceeded", "Rate limit reached", retry_after=wait)
            outcome = self.next_outcome()
            if outcome in _ERRORS:
                status, kind, message = _ERRORS[outcome]
                retry = self.config.retry_after_seconds if outcome == "rate_limited" else None
                return self._error(status, kind, message, retry_after=retry)
            return json_response(200, self._completion(params, outcome), self._rate_limit_headers())
        finally:
            self.leave_call()

    def _completion(self, params: dict[str, Any], outcome: str) -> dict[str, Any]:
        texts = list(iter_texts(params.get("messages", [])))
        conversation_id, turns = requested_conversation(texts)
        turn = requested_turn(texts)
        if turn is None:
            data = faulty_conversation(outcome, conversation_id, turns, variant=self.variant())
        else:
            data = faulty_pair(outcome, conversation_id, turn, variant=self.variant())
        text = json.dumps(data, ensure_ascii=False)
        if self.wrap_in_prose:
            text = (
                f"Here is the conversation you asked for:\n\n```json\n{text}\n```\n\nLet me know if you need changes."
            )
        prompt_tokens = estimate_tokens("".join(iter_texts(params.get("messages", []))))
        completion_tokens = estimate_tokens(text)
        with self._id_lock:
            number = next(self._ids)
        return {
            "id": f"chatcmpl-fake-{number:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "length" if outcome == "truncated" else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _rate_limit_headers(self) -> dict[str, str]:
        limit, remaining, reset_seconds = self.request_state()
        return {
            "x-ratelimit-limit-requests": str(limit),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": f"{max(1, math.ceil(reset_seconds))}s",
            "x-ratelimit-limit-tokens": str(TOKENS_LIMIT),
            "x-ratelimit-remaining-tokens": str(TOKENS_LIMIT),
            "x-ratelimit-reset-tokens": "6m0s",
        }

    def _error(self, status: int, kind: str, message: str, *, retry_after: float | None = None) -> Response:
        headers = self._rate_limit_headers()
        if retry_after is not None:
            headers["retry-after"] = str(max(1, math.ceil(retry_after)))
        return json_response(status, {"error": {"message": message, "type": kind, "code": kind}}, headers)
