"""Cost in cents from token usage, per model, with the batch discount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from training_data_studio.llm.base import Usage
from training_data_studio.llm.pricing import cost_cents, price_for

MILLION = 1_000_000


@pytest.mark.parametrize(
    "model", ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-sonnet-4-6", "claude-sonnet-4-0"]
)
def test_sonnet_4_list_prices(model: str) -> None:
    assert cost_cents(model, Usage(input_tokens=MILLION)).cents == Decimal("300.0000")
    assert cost_cents(model, Usage(output_tokens=MILLION)).cents == Decimal("1500.0000")
    assert cost_cents(model, Usage(cache_write_tokens=MILLION)).cents == Decimal("375.0000")
    assert cost_cents(model, Usage(cache_read_tokens=MILLION)).cents == Decimal("30.0000")


def test_a_typical_conversation() -> None:
    usage = Usage(input_tokens=900, output_tokens=24_000, cache_read_tokens=21_000)
    cost = cost_cents("claude-sonnet-4-6", usage)
    # 900 * $3 + 24,000 * $15 + 21,000 * $0.30 per million = $0.3690 = 36.90 cents
    assert cost.cents == Decimal("36.9000")
    assert not cost.unpriced


def test_batch_is_half_price_on_every_kind_of_token() -> None:
    usage = Usage(input_tokens=1000, output_tokens=2000, cache_read_tokens=3000, cache_write_tokens=4000)
    full = cost_cents("claude-sonnet-4-6", usage).cents
    assert cost_cents("claude-sonnet-4-6", usage, batch=True).cents == full / 2


@pytest.mark.parametrize(
    ("model", "input_cents", "output_cents"),
    [
        ("claude-haiku-4-5", "100", "500"),
        ("claude-haiku-4-5-20251001", "100", "500"),
        ("claude-3-5-haiku-20241022", "80", "400"),
        ("claude-opus-4-5", "500", "2500"),
        ("claude-opus-4-6", "500", "2500"),
        ("claude-opus-4-1", "1500", "7500"),
        ("claude-opus-4-20250514", "1500", "7500"),
        ("claude-opus-4", "1500", "7500"),
    ],
)
def test_other_models(model: str, input_cents: str, output_cents: str) -> None:
    assert cost_cents(model, Usage(input_tokens=MILLION)).cents == Decimal(input_cents)
    assert cost_cents(model, Usage(output_tokens=MILLION)).cents == Decimal(output_cents)


@pytest.mark.parametrize("model", ["llama3.1:8b", "gpt-4o", "claude-opus-4-8", "claude-sonnet-5", ""])
def test_unknown_models_cost_zero_and_are_flagged(model: str) -> None:
    cost = cost_cents(model, Usage(input_tokens=MILLION, output_tokens=MILLION))
    assert cost.cents == Decimal("0")
    assert cost.unpriced
    assert price_for(model) is None


def test_cents_keep_four_decimals() -> None:
    assert cost_cents("claude-sonnet-4-6", Usage(input_tokens=1)).cents == Decimal("0.0003")
    assert cost_cents("claude-sonnet-4-6", Usage(cache_read_tokens=1)).cents == Decimal("0.0000")
    assert cost_cents("claude-sonnet-4-6", Usage(input_tokens=1)).cents.as_tuple().exponent == -4
