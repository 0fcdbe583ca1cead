"""What the fake LLM servers share: a real HTTP server on 127.0.0.1 in a background thread, fault
injection, counters, and valid conversations built from our sample seeds in data/samples.

A test picks outcomes in two ways: ``script`` (a list of outcomes used one per call, in order) and, once the
script is used up, the ``share_*`` probabilities drawn from a seeded random generator. Outcomes:

* ``ok``: a valid conversation for the requested id and turn count;
* ``invalid``: JSON that breaks the schema (a missing target_response, a quality_score of 9);
* ``truncated``: cut off at the output limit (stop reason max_tokens, last reply cut mid-sentence);
* ``dangling_escape``: looks finished but the last reply ends in a ``\\u`` fragment;
* ``rate_limited`` (429 + retry-after), ``overloaded`` (529), ``server_error`` (500).

Independently of outcomes, ``requests_per_minute`` answers 429 to a call when a bucket of that many
requests, refilled continuously over ``window_seconds``, is empty: the token bucket the real APIs apply
(a burst of the whole limit, then one request every window / limit).
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self

from training_data_studio.generation.prompts import REQUIRED_ID_LINE, REQUIRED_TURN_LINE, REQUIRED_TURNS_LINE
from training_data_studio.testing.rate_buckets import Bucket, Limits

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "data" / "samples"
OUTCOMES = ("ok", "invalid", "truncated", "dangling_escape", "rate_limited", "overloaded", "server_error")
DEFAULT_CONVERSATION_ID = "fake_conversation_001"
DEFAULT_TURNS = 3
# How often serve_forever checks for shutdown; the default 0.5 s would add half a second to every test.
SHUTDOWN_POLL_SECONDS = 0.02

_ID_RE = re.compile(re.escape(REQUIRED_ID_LINE.split("{")[0]) + r"([A-Za-z0-9_.-]+)")
_TURNS_RE = re.compile(re.escape(REQUIRED_TURNS_LINE.split("{")[0]) + r"(\d+)")
_TURN_RE = re.compile(re.escape(REQUIRED_TURN_LINE.split("{")[0]) + r"(\d+)")


# --------------------------------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------------------------------


@lru_cache
def sample_pairs() -> tuple[tuple[dict[str, Any], ...], ...]:
    """The training pairs of each sample seed file, in file-name order."""
    files = sorted(SAMPLES_DIR.glob("*.json"))
    return tuple(tuple(json.loads(path.read_text(encoding="utf-8"))["training_pairs"]) for path in files)


def build_conversation(conversation_id: str, turns: int, *, variant: int = 0) -> dict[str, Any]:
    """A valid conversation in the output shape, from the samples (later samples fill in extra turns).

    Ids, turn numbers and the conversation history are rewritten for ``conversation_id``; ``variant``
    chooses which sample leads.
    """
    samples = sample_pairs()
    lead = variant % len(samples)
    source = [pair for sample in samples[lead:] + samples[:lead] for pair in sample][:turns]
    pairs: list[dict[str, Any]] = []
    for number, original in enumerate(source, start=1):
        pair = copy.deepcopy(original)
        pair["id"] = f"{conversation_id}_turn{number}"
        pair["conversation_id"] = conversation_id
        pair["turn_number"] = number
        pair["training_metadata"]["conversation_turn"] = number
        history: list[dict[str, Any]] = []
        for turn, earlier in enumerate(pairs, start=1):
            history.append({"turn": turn, "role": "user", "content": earlier["current_user_input"]})
            history.append({"turn": turn, "role": "assistant", "content": earlier["target_response"]})
        pair["conversation_history"] = history
        pairs.append(pair)
    return {
        "conversation_metadata": {"conversation_id": conversation_id, "total_turns": len(pairs)},
        "training_pairs": pairs,
    }


def _cut_mid_sentence(text: str) -> str:
    words = text.split()
    return " ".join(words[: max(3, len(words) // 2)]) + " and then the"


def faulty_conversation(outcome: str, conversation_id: str, turns: int, *, variant: int = 0) -> dict[str, Any]:
    """The conversation for a content outcome (``ok``, ``invalid``, ``truncated``, ``dangling_escape``)."""
    data = build_conversation(conversation_id, turns, variant=variant)
    pairs = data["training_pairs"]
    if outcome == "invalid":
        del pairs[0]["target_response"]
        pairs[0]["training_metadata"]["quality_score"] = 9
    elif outcome == "truncated":
        pairs[-1]["target_response"] = _cut_mid_sentence(pairs[-1]["target_response"])
    elif outcome == "dangling_escape":  # the breakdown matches, so the escape is the only problem
        last = pairs[-1]
        last["target_response"] = last["target_response"].rstrip(".?!") + " \\u00"
        last["response_breakdown"]["sentences"][-1]["text"] = (
            last["response_breakdown"]["sentences"][-1]["text"].rstrip(".?!") + " \\u00"
        )
    return data


def faulty_pair(outcome: str, conversation_id: str, turn: int, *, variant: int = 0) -> dict[str, Any]:
    """Turn ``turn`` written on its own (one training pair, empty history) for a content outcome."""
    pair = faulty_conversation(outcome, conversation_id, turn, variant=variant)["training_pairs"][-1]
    if outcome == "invalid":  # faulty_conversation breaks the first pair; break this one the same way
        pair.pop("target_response", None)
        pair["training_metadata"]["quality_score"] = 9
    pair["conversation_history"] = []
    return dict(pair)


def requested_turn(texts: list[str]) -> int | None:
    """The turn a turn-by-turn prompt asks for, or None for a whole-conversation prompt."""
    found = _TURN_RE.search("\n".join(texts))
    return int(found.group(1)) if found else None


def requested_conversation(texts: list[str]) -> tuple[str, int]:
    """The conversation id and turn count a prompt asks for (defaults when it does not say)."""
    joined = "\n".join(texts)
    found_id = _ID_RE.search(joined)
    found_turns = _TURNS_RE.search(joined)
    return (
        found_id.group(1) if found_id else DEFAULT_CONVERSATION_ID,
        int(found_turns.group(1)) if found_turns else DEFAULT_TURNS,
    )


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


# --------------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------------


@dataclass
class FakeConfig:
    latency_seconds: float = 0.0
    latency_jitter_seconds: float = 0.0
    requests_per_minute: int | None = None
    window_seconds: float = 60.0
    retry_after_seconds: float = 1.0
    share_overloaded: float = 0.0
    share_server_error: float = 0.0
    share_truncated: float = 0.0
    share_invalid: float = 0.0
    share_dangling_escape: float = 0.0
    script: list[str] = field(default_factory=list)
    seed: int = 0
    # Token-aware mode (fake_anthropic): request, input-token and output-token buckets refilled over
    # window_seconds (rate_buckets.Limits), and a service time of output tokens / output_tokens_per_second
    # instead of latency_seconds.
    token_limits: Limits | None = None
    output_tokens_per_second: float | None = None


@dataclass
class Counters:
    calls: int = 0
    succeeded: int = 0
    rate_limited: int = 0
    overloaded: int = 0
    server_errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    outcomes: list[str] = field(default_factory=list)


@dataclass
class Response:
    """A reply; with ``chunks`` (server-sent events) the body is sent piece by piece, ``chunk_delay`` apart,
    and the connection closed after the last (no content-length), as a streaming API does."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    chunks: list[bytes] | None = None
    chunk_delay: float = 0.0
    on_done: Callable[[], None] | None = None  # called once the whole body was sent (or the client left)
    before_last_chunk: Callable[[], None] | None = None  # called just before the last chunk is sent


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), headers or {})


class FakeLLMServer:
    """Base of the fake servers: subclasses implement :meth:`handle` for their API's routes."""

    name: ClassVar[str] = "fake"

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.counters = Counters()
        self.requests: list[dict[str, Any]] = []
        self._script: deque[str] = deque(self.config.script)
        self._random = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._requests = (
            Bucket(self.config.requests_per_minute, self.config.window_seconds, at=time.monotonic())
            if self.config.requests_per_minute is not None
            else None
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:
                fake._dispatch(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request plumbing --------------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = None
        path = handler.path.split("?", 1)[0]
        response = self.handle(method, path, body, dict(handler.headers.items()))
        try:
            self._send(handler, response)
        finally:
            if response.on_done is not None:
                response.on_done()

    def _send(self, handler: BaseHTTPRequestHandler, response: Response) -> None:
        handler.send_response(response.status)
        handler.send_header("content-type", response.content_type)
        if response.chunks is None:
            handler.send_header("content-length", str(len(response.body)))
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if response.chunks is None:
            handler.wfile.write(response.body)
            return
        for index, chunk in enumerate(response.chunks):
            if index and response.chunk_delay > 0:
                time.sleep(response.chunk_delay)
            if index == len(response.chunks) - 1 and response.before_last_chunk is not None:
                response.before_last_chunk()
            handler.wfile.write(chunk)
            handler.wfile.flush()
        handler.close_connection = True

    def handle(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response:
        raise NotImplementedError

    # -- shared behaviour --------------------------------------------------------------------------

    def enter_call(self, body: Any) -> None:
        with self._lock:
            self.counters.calls += 1
            self.counters.in_flight += 1
            self.counters.max_in_flight = max(self.counters.max_in_flight, self.counters.in_flight)
            self.requests.append(body if isinstance(body, dict) else {})

    def leave_call(self) -> None:
        with self._lock:
            self.counters.in_flight -= 1

    def sleep_latency(self) -> None:
        config = self.config
        if config.latency_seconds <= 0 and config.latency_jitter_seconds <= 0:
            return
        with self._lock:
            jitter = self._random.uniform(-config.latency_jitter_seconds, config.latency_jitter_seconds)
        time.sleep(max(0.0, config.latency_seconds + jitter))

    def request_retry_after(self) -> float | None:
        """Seconds until the request bucket holds a request, or None when this call fits (and is taken)."""
        if self._requests is None:
            return None
        with self._lock:
            self._requests.refill(time.monotonic())
            wait = self._requests.wait_for(1)
            if wait > 0:
                return wait
            self._requests.level -= 1
            return None

    def request_state(self) -> tuple[int, int, float]:
        """(limit, remaining, seconds until the request bucket is full again)."""
        if self._requests is None:
            return 4000, 4000, 0.0
        with self._lock:
            self._requests.refill(time.monotonic())
            return self._requests.limit, max(0, math.floor(self._requests.level)), self._requests.seconds_to_full()

    def next_outcome(self) -> str:
        with self._lock:
            if self._script:
                outcome = self._script.popleft()
            else:
                outcome = self._draw()
            self.counters.outcomes.append(outcome)
            if outcome == "rate_limited":
                self.counters.rate_limited += 1
            elif outcome == "overloaded":
                self.counters.overloaded += 1
            elif outcome == "server_error":
                self.counters.server_errors += 1
            else:
                self.counters.succeeded += 1
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown fake outcome {outcome!r}; use one of {OUTCOMES}")
        return outcome

    def _draw(self) -> str:
        config = self.config
        roll = self._random.random()
        for outcome, share in (
            ("overloaded", config.share_overloaded),
            ("server_error", config.share_server_error),
            ("truncated", config.share_truncated),
            ("invalid", config.share_invalid),
            ("dangling_escape", config.share_dangling_escape),
        ):
            if roll < share:
                return outcome
            roll -= share
        return "ok"

    def count_request_rejection(self) -> None:
        with self._lock:
            self.counters.rate_limited += 1
            self.counters.outcomes.append("rate_limited")

    def variant(self) -> int:
        with self._lock:
            return self.counters.calls


def iter_texts(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (for finding the prompt's markers wherever the API put them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from iter_texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("input_schema", "response_format", "tools"):
                yield from iter_texts(item)
