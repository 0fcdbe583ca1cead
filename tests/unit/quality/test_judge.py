"""The LLM judge against the fake Anthropic API over real HTTP, through the real SDK."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.unit.quality.judges import bad_judgement, judgement_from_request
from training_data_studio.llm import Overloaded
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.quality.judge import (
    RUBRIC,
    RUBRIC_VERSION,
    JudgeFailed,
    JudgementOutput,
    Transcript,
    judge_transcript,
    judgement_schema,
)
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

MODEL = "claude-sonnet-4-6"
TRANSCRIPT = Transcript(
    row_id=uuid.uuid4(),
    conversation_id="fp_jennifer_021",
    tier="tier1_template",
    persona="Jennifer Lee (Jennifer)",
    topic="Credit card shame",
    turns=[
        ("I have hidden this debt for two years.", "Jennifer, I can hear the shame in this. What feels hardest?"),
        ("It's $14,000 on two cards.", "Would it be okay if I explained interest? Interest is the fee a card charges."),
    ],
)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(responder=judgement_from_request) as server:
        yield server


def _provider(fake: FakeAnthropic) -> AnthropicProvider:
    return AnthropicProvider(api_key="test-key", model=MODEL, base_url=fake.url)


def test_the_rubric_is_versioned_and_the_schema_is_flat() -> None:
    assert RUBRIC.startswith(f"QUALITY RUBRIC (version {RUBRIC_VERSION})")
    schema = judgement_schema()
    assert schema["title"] == "QualityJudgement"
    assert "$defs" not in schema
    assert schema["additionalProperties"] is False
    assert schema["properties"]["empathy"] == {
        "description": "A whole number from 1 (absent or harmful) to 5 (exemplary).",
        "maximum": 5,
        "minimum": 1,
        "title": "Empathy",
        "type": "integer",
    }
    assert set(schema["required"]) == {
        f"{d}{suffix}" for d in ("empathy", "clarity", "appropriateness", "brand_voice") for suffix in ("", "_reason")
    }


async def test_a_judgement_comes_back_validated(fake: FakeAnthropic) -> None:
    provider = _provider(fake)
    try:
        verdict = await judge_transcript(provider, TRANSCRIPT)
    finally:
        await provider.aclose()
    assert verdict.output == JudgementOutput(
        empathy=5,
        empathy_reason="fp_jennifer_021: turn 1 names the feeling first (2 turns read).",
        clarity=4,
        clarity_reason="Turn 2 explains interest in plain words with the client's own figures.",
        appropriateness=5,
        appropriateness_reason="Every turn asks before teaching and stays within scope.",
        brand_voice=4,
        brand_voice_reason="Warm and judgment-free; turn 3 could celebrate the small win more.",
    )
    assert verdict.model == MODEL
    assert verdict.usage.output_tokens > 0
    sent = fake.requests[0]
    assert sent["tools"][0]["input_schema"]["title"] == "QualityJudgement"
    assert sent["system"][0]["text"] == RUBRIC
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}  # the rubric is the cached prefix
    assert "Client: It's $14,000 on two cards." in sent["system"][1]["text"]
    assert sent["max_tokens"] == 1024


async def test_a_judgement_outside_the_rubric_fails_loudly() -> None:
    with FakeAnthropic(responder=bad_judgement) as fake:
        provider = _provider(fake)
        try:
            with pytest.raises(JudgeFailed, match=r"fp_jennifer_021 failed: .*2 problem\(s\)"):
                await judge_transcript(provider, TRANSCRIPT)
        finally:
            await provider.aclose()


async def test_provider_errors_pass_through_typed() -> None:
    with FakeAnthropic(FakeConfig(script=["overloaded"]), responder=judgement_from_request) as fake:
        provider = _provider(fake)
        try:
            with pytest.raises(Overloaded):
                await judge_transcript(provider, TRANSCRIPT)
        finally:
            await provider.aclose()


def test_the_fake_still_answers_conversations_when_the_responder_declines(fake: FakeAnthropic) -> None:
    body = fake.message_for({"tools": [{"name": "record_conversation", "input_schema": {}}], "messages": []}, "ok")
    tool_input = body["content"][0]["input"]
    assert tool_input.get("training_pairs")
