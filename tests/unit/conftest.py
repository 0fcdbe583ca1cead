"""Shared fixtures for the unit tests of generation and llm: the shipped plan and templates, our sample seeds as
examples, built prompts, and the fake LLM servers over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from training_data_studio.generation.prompts import BuiltPrompt, build_prompt
from training_data_studio.plan.service import SAMPLES_DIR, PlanRow, read_plan, read_templates
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig
from training_data_studio.testing.fake_openai import FakeOpenAI

# Not deprecated in the installed SDK (claude-sonnet-4-5 warns), priced as Sonnet 4.x.
TEST_MODEL = "claude-sonnet-4-6"


@pytest.fixture(scope="session")
def plan_rows() -> list[PlanRow]:
    return read_plan()


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    return {template["template_id"]: template for template in read_templates()}


@pytest.fixture(scope="session")
def examples() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SAMPLES_DIR.glob("*.json"))]


@pytest.fixture(scope="session")
def plan_row(plan_rows: list[PlanRow]) -> PlanRow:
    """Conversation 11: the first one to generate (Tier 1, four turns)."""
    row = next(row for row in plan_rows if row.conversation_number == 11)
    assert row.turn_count_target == 4
    return row


@pytest.fixture(scope="session")
def make_prompt(
    templates: dict[str, dict[str, Any]], examples: list[dict[str, Any]]
) -> Callable[[PlanRow], BuiltPrompt]:
    def make(row: PlanRow) -> BuiltPrompt:
        return build_prompt(templates[row.template_key], row, examples[:2])

    return make


@pytest.fixture(scope="session")
def prompt(make_prompt: Callable[[PlanRow], BuiltPrompt], plan_row: PlanRow) -> BuiltPrompt:
    return make_prompt(plan_row)


@pytest.fixture
def start_fake_anthropic() -> Iterator[Callable[..., FakeAnthropic]]:
    """Start a fake Anthropic API: ``start_fake_anthropic(script=[...], requests_per_minute=...)``."""
    started: list[FakeAnthropic] = []

    def start(*, batch_seconds: float = 0.0, **config: Any) -> FakeAnthropic:
        fake = FakeAnthropic(FakeConfig(**config), batch_seconds=batch_seconds).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def start_fake_openai() -> Iterator[Callable[..., FakeOpenAI]]:
    started: list[FakeOpenAI] = []

    def start(*, wrap_in_prose: bool = False, reject_response_format: bool = False, **config: Any) -> FakeOpenAI:
        fake = FakeOpenAI(
            FakeConfig(**config), wrap_in_prose=wrap_in_prose, reject_response_format=reject_response_format
        ).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
