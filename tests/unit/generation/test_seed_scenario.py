"""The scenario the checks are judged by: a model that obeys the brief and writes content of the quality of
the user's approved seeds (upstream files 01-09, read in place and relabelled) is accepted on the first call,
for at least 95% of the 90 planned conversations, turn by turn over HTTP and as whole conversations."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.conftest import TEST_MODEL
from training_data_studio.generation.checks import check_reply
from training_data_studio.generation.generate import GenerationFailed, GenerationOutcome, generate_conversation
from training_data_studio.generation.prompts import BuiltPrompt
from training_data_studio.llm.anthropic_provider import AnthropicProvider
from training_data_studio.llm.base import ProviderReply, Usage
from training_data_studio.plan.service import PlanRow
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.seed_model import SeedModel

# The target: gold-standard content is accepted on the first call for at least 95% of 90.
FIRST_CALL_TARGET = 0.95
IN_FLIGHT = 8


@pytest.fixture(scope="module")
def seed_model(upstream_seeds: Path) -> SeedModel:
    return SeedModel.from_folder(upstream_seeds)


@pytest.fixture(scope="module")
def planned(plan_rows: list[PlanRow]) -> list[PlanRow]:
    rows = [row for row in plan_rows if not row.is_seed_example]
    assert len(rows) == 90
    return rows


def test_whole_seed_conversations_pass_the_checks(seed_model: SeedModel, planned: list[PlanRow]) -> None:
    accepted = 0
    failures: Counter[str] = Counter()
    normalised: Counter[str] = Counter()
    for row in planned:
        data = seed_model.conversation(row.conversation_id, row.turn_count_target)
        reply = ProviderReply(
            data=data, output_text="", raw_response="", stop_reason="tool_use", usage=Usage(), model="m"
        )
        report = check_reply(reply, row)
        accepted += report.conversation is not None
        failures.update(problem.code for problem in report.failures)
        normalised.update(change.code for change in report.normalisations)
    assert accepted >= FIRST_CALL_TARGET * len(planned), failures
    # The seeds' own bookkeeping is fixed locally, not failed: their declared sentence counts differ.
    assert normalised["total_sentences"] > 0


async def test_seed_quality_turns_are_accepted_on_the_first_call_over_http(
    seed_model: SeedModel, planned: list[PlanRow], make_prompt: Callable[[PlanRow], BuiltPrompt]
) -> None:
    with FakeAnthropic(responder=seed_model) as fake:
        provider = AnthropicProvider(api_key="test-key", model=TEST_MODEL, base_url=fake.url)
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(row: PlanRow) -> GenerationOutcome | GenerationFailed:
            async with gate:
                try:
                    return await generate_conversation(provider, make_prompt(row), row)
                except GenerationFailed as exc:
                    return exc

        try:
            results = await asyncio.gather(*(one(row) for row in planned))
        finally:
            await provider.aclose()
    outcomes = [result for result in results if isinstance(result, GenerationOutcome)]
    first_call = [outcome for outcome in outcomes if not outcome.repaired]
    problems = Counter(
        problem.code for result in results for attempt in result.attempts for problem in attempt.problems
    )
    assert len(first_call) >= FIRST_CALL_TARGET * len(planned), problems
    assert fake.counters.calls == sum(row.turn_count_target for row in planned) + sum(
        attempt.repair for result in results for attempt in result.attempts
    )
    # Partial breakdowns are kept as warnings for review, not failed.
    warnings = Counter(warning.code for outcome in outcomes for warning in outcome.warnings)
    assert warnings["partial_breakdown"] > 0


def _cut(pair: dict[str, Any]) -> None:
    pair["target_response"] = pair["target_response"].rsplit(" ", 8)[0]


def _dangle(pair: dict[str, Any]) -> None:
    pair["target_response"] += " \\u00"


def _empty_reply(pair: dict[str, Any]) -> None:
    pair["target_response"] = ""


def _no_client_message(pair: dict[str, Any]) -> None:
    del pair["current_user_input"]


def _foreign_sentence(pair: dict[str, Any]) -> None:
    pair["response_breakdown"]["sentences"][0]["text"] = "Nothing of the sort was ever said in this reply."


def _roles_out_of_turn(pair: dict[str, Any]) -> None:
    pair["conversation_history"] = [
        {"turn": 1, "role": "assistant", "content": "Hello."},
        {"turn": 1, "role": "user", "content": "Hi."},
    ]


@pytest.mark.parametrize(
    ("corrupt", "code"),
    [
        pytest.param(_cut, "ends_mid_sentence", id="cut-off-reply"),
        pytest.param(_dangle, "dangling_escape", id="dangling-escape"),
        pytest.param(_empty_reply, "schema:text_empty", id="empty-reply"),
        pytest.param(_no_client_message, "schema:missing", id="missing-client-message"),
        pytest.param(_foreign_sentence, "breakdown_not_in_reply", id="sentence-not-in-reply"),
        pytest.param(_roles_out_of_turn, "history_roles", id="broken-alternation"),
    ],
)
def test_malformed_gold_content_still_fails(
    seed_model: SeedModel, planned: list[PlanRow], corrupt: Callable[[dict[str, Any]], None], code: str
) -> None:
    row = planned[0]
    data = seed_model.conversation(row.conversation_id, row.turn_count_target)
    corrupt(data["training_pairs"][1])
    reply = ProviderReply(data=data, output_text="", raw_response="", stop_reason="tool_use", usage=Usage(), model="m")
    report = check_reply(reply, row)
    assert report.conversation is None
    assert code in [problem.code for problem in report.failures]
    assert any(problem.path.startswith("$.training_pairs[1]") for problem in report.failures)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"turns": 2}, "turn_count", id="too-few-turns"),
        pytest.param({"stop_reason": "max_tokens"}, "truncated", id="cut-off-at-max-tokens"),
        pytest.param({"data": None}, "not_json", id="invalid-json"),
    ],
)
def test_malformed_gold_conversations_still_fail(
    seed_model: SeedModel, planned: list[PlanRow], change: dict[str, Any], code: str
) -> None:
    row = next(row for row in planned if row.turn_count_target >= 4)
    data = seed_model.conversation(row.conversation_id, change.get("turns", row.turn_count_target))
    reply = ProviderReply(
        data=change.get("data", data),
        output_text="",
        raw_response="",
        stop_reason=change.get("stop_reason", "tool_use"),
        usage=Usage(),
        model="m",
        parse_error="the reply is not valid JSON" if "data" in change else None,
    )
    report = check_reply(reply, row)
    assert report.conversation is None
    assert code in [problem.code for problem in report.failures]
