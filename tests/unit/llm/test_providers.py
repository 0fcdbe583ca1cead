"""The providers against the fake servers over real HTTP, through the real SDKs."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.conftest import TEST_MODEL
from training_data_studio.conversations.document import conversation_json_schema
from training_data_studio.core.config import Settings
from training_data_studio.generation.checks import validate_reply
from training_data_studio.generation.prompts import BuiltPrompt
from training_data_studio.llm.anthropic_provider import (
    TOOL_NAME,
    AnthropicProvider,
    anthropic_rate_limits,
)
from training_data_studio.llm.base import (
    GenerationRequest,
    Overloaded,
    ProviderRefused,
    RateLimited,
    Repair,
    ServerError,
    parse_retry_after,
)
from training_data_studio.llm.factory import GenerationUnavailable, provider_from_settings
from training_data_studio.llm.openai_provider import (
    OpenAICompatibleProvider,
    openai_rate_limits,
    parse_duration,
    parse_json_object,
)
from training_data_studio.plan.service import PlanRow
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_openai import FakeOpenAI

PROVIDER_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "TDS_ANTHROPIC_MODEL",
    "TDS_OPENAI_BASE_URL",
    "TDS_OPENAI_API_KEY",
    "TDS_OPENAI_MODEL",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _settings(**values: str) -> Settings:
    """Settings from these values only (no environment, no .env file)."""
    fields: dict[str, Any] = dict(values)
    return Settings(_env_file=None, **fields)


async def _anthropic(fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> AnthropicProvider:
    """A provider that finds the fake through ANTHROPIC_BASE_URL, as the SDK does in production."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    return AnthropicProvider(api_key="test-key", model=TEST_MODEL)


# --------------------------------------------------------------------------------------------------
# Anthropic
# --------------------------------------------------------------------------------------------------


async def test_anthropic_returns_a_conversation_that_validates(
    start_fake_anthropic: Callable[..., FakeAnthropic],
    clean_env: pytest.MonkeyPatch,
    prompt: BuiltPrompt,
    plan_row: PlanRow,
) -> None:
    fake = start_fake_anthropic()
    provider = await _anthropic(fake, clean_env)
    try:
        first = await provider.generate(prompt.request())
        second = await provider.generate(prompt.request())
    finally:
        await provider.aclose()

    assert first.data is not None
    assert first.data["training_pairs"][0]["id"] == f"{plan_row.conversation_id}_turn1"
    assert len(first.data["training_pairs"]) == plan_row.turn_count_target
    assert validate_reply(first, plan_row) == []
    assert first.stop_reason == "tool_use"
    assert first.model == "claude-sonnet-4-6"
    assert '"tool_use"' in first.raw_response
    assert first.output_text.startswith("{")
    # the static prefix is written to the prompt cache once, then read from it
    assert first.usage.cache_write_tokens > 0
    assert first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.usage.cache_write_tokens == 0
    assert first.usage.input_tokens > 0
    assert first.usage.output_tokens > 0
    assert first.rate_limits.requests_remaining is not None
    assert first.rate_limits.requests_reset is not None
    assert first.rate_limits.output_tokens_remaining == 400_000


async def test_anthropic_request_forces_the_tool_and_caches_the_static_prefix(
    start_fake_anthropic: Callable[..., FakeAnthropic], clean_env: pytest.MonkeyPatch, prompt: BuiltPrompt
) -> None:
    fake = start_fake_anthropic()
    provider = await _anthropic(fake, clean_env)
    try:
        await provider.generate(prompt.request())
    finally:
        await provider.aclose()

    sent = fake.requests[0]
    assert sent["model"] == TEST_MODEL
    assert sent["max_tokens"] == prompt.max_output_tokens
    assert sent["tool_choice"] == {"type": "tool", "name": TOOL_NAME, "disable_parallel_tool_use": True}
    assert sent["tools"][0]["name"] == TOOL_NAME
    assert sent["tools"][0]["input_schema"] == conversation_json_schema()
    static, per_conversation = sent["system"]
    assert static == {"type": "text", "text": prompt.static_prefix, "cache_control": {"type": "ephemeral"}}
    assert per_conversation == {"type": "text", "text": prompt.conversation_part}
    assert [message["role"] for message in sent["messages"]] == ["user"]


async def test_anthropic_repair_request_sends_the_output_and_the_problems_back(
    start_fake_anthropic: Callable[..., FakeAnthropic], clean_env: pytest.MonkeyPatch, prompt: BuiltPrompt
) -> None:
    fake = start_fake_anthropic()
    provider = await _anthropic(fake, clean_env)
    request = prompt.request().with_repair(Repair(previous_output='{"x": 1}', problems="- $: broken"))
    try:
        await provider.generate(request)
    finally:
        await provider.aclose()

    messages = fake.requests[0]["messages"]
    assert [message["role"] for message in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == '{"x": 1}'
    assert "- $: broken" in messages[2]["content"]


async def test_anthropic_429_raises_rate_limited_with_retry_after(
    start_fake_anthropic: Callable[..., FakeAnthropic], clean_env: pytest.MonkeyPatch, prompt: BuiltPrompt
) -> None:
    fake = start_fake_anthropic(script=["rate_limited"], retry_after_seconds=7)
    provider = await _anthropic(fake, clean_env)
    try:
        with pytest.raises(RateLimited) as caught:
            await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    assert caught.value.retry_after == 7.0
    assert caught.value.status == 429
    assert caught.value.retryable
    assert caught.value.rate_limits.requests_limit == 4000
    assert fake.counters.calls == 1  # max_retries=0: the SDK did not retry on its own


async def test_anthropic_request_limit_answers_429(
    start_fake_anthropic: Callable[..., FakeAnthropic], clean_env: pytest.MonkeyPatch, prompt: BuiltPrompt
) -> None:
    fake = start_fake_anthropic(requests_per_minute=1)
    provider = await _anthropic(fake, clean_env)
    try:
        await provider.generate(prompt.request())
        with pytest.raises(RateLimited) as caught:
            await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
    assert fake.counters.rate_limited == 1


@pytest.mark.parametrize(
    ("outcome", "error", "status"),
    [("overloaded", Overloaded, 529), ("server_error", ServerError, 500)],
)
async def test_anthropic_overload_and_server_errors_are_typed(
    start_fake_anthropic: Callable[..., FakeAnthropic],
    clean_env: pytest.MonkeyPatch,
    prompt: BuiltPrompt,
    outcome: str,
    error: type[Exception],
    status: int,
) -> None:
    fake = start_fake_anthropic(script=[outcome, "ok"])
    provider = await _anthropic(fake, clean_env)
    try:
        with pytest.raises(error) as caught:
            await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    assert getattr(caught.value, "status") == status  # noqa: B009
    assert fake.counters.calls == 1


async def test_anthropic_other_4xx_is_refused_and_not_retryable(
    start_fake_anthropic: Callable[..., FakeAnthropic], prompt: BuiltPrompt
) -> None:
    fake = start_fake_anthropic()
    provider = AnthropicProvider(api_key="test-key", model=TEST_MODEL, base_url=f"{fake.url}/wrong-prefix")
    try:
        with pytest.raises(ProviderRefused) as caught:
            await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    assert caught.value.status == 404
    assert not caught.value.retryable
    assert caught.value.body is not None
    assert "not_found_error" in caught.value.body


async def test_anthropic_unreachable_server_is_a_retryable_server_error(prompt: BuiltPrompt) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = AnthropicProvider(
        api_key="test-key", model=TEST_MODEL, base_url=f"http://127.0.0.1:{port}", timeout_seconds=5
    )
    try:
        with pytest.raises(ServerError) as caught:
            await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    assert caught.value.status is None
    assert caught.value.retryable


async def test_anthropic_message_batches_round_trip(
    start_fake_anthropic: Callable[..., FakeAnthropic], clean_env: pytest.MonkeyPatch, prompt: BuiltPrompt
) -> None:
    fake = start_fake_anthropic(script=["ok", "overloaded", "invalid"], batch_seconds=0.2)
    provider = await _anthropic(fake, clean_env)
    try:
        batch_id = await provider.submit_batch(
            [("conv-a", prompt.request()), ("conv-b", prompt.request()), ("conv-c", prompt.request())]
        )
        pending = await provider.batch_status(batch_id)
        await asyncio.to_thread(fake.wait_for_batches)
        ended = await provider.batch_status(batch_id)
        results = await provider.batch_results(batch_id)
    finally:
        await provider.aclose()

    assert not pending.ended
    assert pending.processing == 3
    assert ended.ended
    assert (ended.succeeded, ended.errored) == (2, 1)
    assert set(results) == {"conv-a", "conv-b", "conv-c"}
    ok, overloaded, invalid = results["conv-a"], results["conv-b"], results["conv-c"]
    assert not isinstance(ok, Exception)
    assert ok.data is not None
    assert isinstance(overloaded, Overloaded)
    assert not isinstance(invalid, Exception)
    assert invalid.data is not None
    sent = fake.requests  # batch entries are not single calls
    assert sent == []
    assert fake.batches[batch_id].results[0]["custom_id"] == "conv-a"


def test_anthropic_rate_limit_headers_parse() -> None:
    info = anthropic_rate_limits(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": "2026-11-25T14:00:30Z",
            "anthropic-ratelimit-input-tokens-remaining": "29000",
            "anthropic-ratelimit-input-tokens-reset": "2026-11-25T14:00:02Z",
            "anthropic-ratelimit-output-tokens-remaining": "not-a-number",
            "retry-after": "12",
        }
    )
    assert info.requests_limit == 50
    assert info.requests_remaining == 49
    assert info.requests_reset == datetime(2026, 11, 25, 14, 0, 30, tzinfo=UTC)
    assert info.input_tokens_remaining == 29000
    assert info.output_tokens_remaining is None
    assert info.output_tokens_reset is None
    assert info.retry_after == 12.0


def test_retry_after_accepts_milliseconds_seconds_and_dates() -> None:
    now = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "Wed, 25 Nov 2026 14:00:20 GMT"}, now=now) == 20.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


# --------------------------------------------------------------------------------------------------
# OpenAI-compatible
# --------------------------------------------------------------------------------------------------


async def test_openai_compatible_returns_a_conversation_that_validates(
    start_fake_openai: Callable[..., FakeOpenAI], prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    fake = start_fake_openai()
    provider = OpenAICompatibleProvider(base_url=fake.base_url, model="llama-fake:8b")
    try:
        reply = await provider.generate(prompt.request())
    finally:
        await provider.aclose()

    assert validate_reply(reply, plan_row) == []
    assert reply.stop_reason == "stop"
    assert reply.usage.input_tokens > 0
    assert reply.usage.output_tokens > 0
    assert reply.rate_limits.requests_limit == 4000
    assert reply.rate_limits.input_tokens_remaining == 1_000_000
    sent = fake.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == conversation_json_schema()
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]
    assert sent["messages"][0]["content"].startswith(prompt.static_prefix)


async def test_openai_compatible_parses_json_wrapped_in_prose_and_falls_back_without_response_format(
    start_fake_openai: Callable[..., FakeOpenAI], prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    fake = start_fake_openai(wrap_in_prose=True, reject_response_format=True)
    provider = OpenAICompatibleProvider(base_url=fake.base_url, model="llama-fake:8b")
    try:
        first = await provider.generate(prompt.request())
        second = await provider.generate(prompt.request())
    finally:
        await provider.aclose()

    assert validate_reply(first, plan_row) == []
    assert validate_reply(second, plan_row) == []
    assert not provider.json_schema_supported
    # rejected once with response_format, then never sent it again
    assert ["response_format" in request for request in fake.requests] == [True, False, False]


async def test_openai_compatible_length_finish_is_reported_as_max_tokens(
    start_fake_openai: Callable[..., FakeOpenAI], prompt: BuiltPrompt, plan_row: PlanRow
) -> None:
    fake = start_fake_openai(script=["truncated"])
    provider = OpenAICompatibleProvider(base_url=fake.base_url, model="llama-fake:8b")
    try:
        reply = await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    assert reply.truncated
    codes = {problem.code for problem in validate_reply(reply, plan_row)}
    assert {"truncated", "ends_mid_sentence"} <= codes


@pytest.mark.parametrize(
    ("outcome", "error"),
    [("rate_limited", RateLimited), ("overloaded", Overloaded), ("server_error", ServerError)],
)
async def test_openai_compatible_errors_are_typed(
    start_fake_openai: Callable[..., FakeOpenAI], prompt: BuiltPrompt, outcome: str, error: type[Exception]
) -> None:
    fake = start_fake_openai(script=[outcome], retry_after_seconds=4)
    provider = OpenAICompatibleProvider(base_url=fake.base_url, model="llama-fake:8b")
    try:
        with pytest.raises(error) as caught:
            await provider.generate(prompt.request())
    finally:
        await provider.aclose()
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 4.0
    assert fake.counters.calls == 1


def test_openai_rate_limit_headers_and_durations_parse() -> None:
    now = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)
    info = openai_rate_limits(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        now=now,
    )
    assert (info.requests_limit, info.requests_remaining) == (60, 59)
    assert info.requests_reset == now + timedelta(seconds=1)
    assert info.input_tokens_remaining == 149984
    assert info.input_tokens_reset == now + timedelta(minutes=6)
    assert parse_duration("20ms") == pytest.approx(0.02)
    assert parse_duration("1h2m3.5s") == pytest.approx(3723.5)
    assert parse_duration("soon") is None
    assert parse_duration(None) is None


def test_json_is_found_in_fences_and_prose() -> None:
    assert parse_json_object('{"a": 1}') == ({"a": 1}, None)
    assert parse_json_object('Sure!\n```json\n{"a": 2}\n```\nDone.') == ({"a": 2}, None)
    assert parse_json_object('Here: {"a": 3} as asked') == ({"a": 3}, None)
    data, error = parse_json_object("[1, 2]")
    assert data is None
    assert error is not None
    assert "not an object" in error
    data, error = parse_json_object('{"a": ')
    assert data is None
    assert error is not None
    assert "not valid JSON" in error


# --------------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------------


async def test_factory_prefers_anthropic_when_it_has_a_key(clean_env: pytest.MonkeyPatch) -> None:
    settings = _settings(ANTHROPIC_API_KEY="sk-test", TDS_OPENAI_BASE_URL="http://127.0.0.1:9/v1", TDS_OPENAI_MODEL="m")
    provider = provider_from_settings(settings)
    try:
        assert isinstance(provider, AnthropicProvider)
        assert provider.model == settings.anthropic_model
    finally:
        await provider.aclose()


async def test_factory_uses_the_openai_compatible_server_without_an_anthropic_key(
    clean_env: pytest.MonkeyPatch,
) -> None:
    provider = provider_from_settings(_settings(TDS_OPENAI_BASE_URL="http://127.0.0.1:9/v1", TDS_OPENAI_MODEL="qwen"))
    try:
        assert isinstance(provider, OpenAICompatibleProvider)
        assert provider.model == "qwen"
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    "values",
    [{}, {"TDS_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, {"TDS_OPENAI_MODEL": "qwen"}, {"ANTHROPIC_API_KEY": ""}],
)
def test_factory_refuses_without_any_provider(clean_env: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    with pytest.raises(GenerationUnavailable) as caught:
        provider_from_settings(_settings(**values))
    error = caught.value
    assert error.status == 503
    assert error.code == "generation_unavailable"
    for name in ("ANTHROPIC_API_KEY", "TDS_OPENAI_BASE_URL", "TDS_OPENAI_MODEL"):
        assert name in error.message


def test_generation_request_estimates_its_input(prompt: BuiltPrompt) -> None:
    request: GenerationRequest = prompt.request()
    assert request.estimated_input_tokens == -(-(len(prompt.static_prefix) + len(prompt.conversation_part)) // 4)
    repaired = request.with_repair(Repair(previous_output="x" * 400, problems="y" * 40))
    assert repaired.estimated_input_tokens - request.estimated_input_tokens in (110, 111)
    assert repaired.conversation_part == request.conversation_part
