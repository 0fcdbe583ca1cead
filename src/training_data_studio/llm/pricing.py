"""What a call costs, in US cents, from the provider's token usage.

Prices are Anthropic's list prices in USD per million tokens (input, output, prompt-cache write with the
default 5-minute TTL, prompt-cache read). The Message Batches API halves every one of them. A model that
is not in the table (a local model, or a Claude model newer than this table) costs 0 and is flagged
``unpriced`` so the UI can say "cost unknown" instead of showing a false zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .base import Usage

# Cents are stored as NUMERIC(12, 4) on conversations and jobs.
CENTS_QUANTUM = Decimal("0.0001")
# Message Batches are billed at half the list price.
BATCH_DISCOUNT = Decimal("0.5")
_TOKENS_PER_MILLION = Decimal(1_000_000)
_CENTS_PER_DOLLAR = Decimal(100)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal


def _price(input_usd: str, output_usd: str, cache_write_usd: str, cache_read_usd: str) -> ModelPrice:
    return ModelPrice(Decimal(input_usd), Decimal(output_usd), Decimal(cache_write_usd), Decimal(cache_read_usd))


SONNET_4 = _price("3", "15", "3.75", "0.30")
HAIKU_4_5 = _price("1", "5", "1.25", "0.10")
HAIKU_3_5 = _price("0.80", "4", "1", "0.08")
OPUS_4_5 = _price("5", "25", "6.25", "0.50")
OPUS_4_0 = _price("15", "75", "18.75", "1.50")

# Checked in order, first match wins: model ids are matched by prefix so dated snapshots
# (claude-sonnet-4-5-20250929) and aliases (claude-sonnet-4-5) get the same price. Sonnet 4.x and Haiku 4.x
# share one price per family; Opus changed price at 4.5, so only the Opus versions whose price we know are
# listed and a newer Opus stays unpriced until someone adds it here.
PRICE_RULES: tuple[tuple[str, ModelPrice], ...] = (
    ("claude-sonnet-4", SONNET_4),
    ("claude-haiku-4", HAIKU_4_5),
    ("claude-3-5-haiku", HAIKU_3_5),
    ("claude-opus-4-0", OPUS_4_0),
    ("claude-opus-4-1", OPUS_4_0),
    ("claude-opus-4-2025", OPUS_4_0),
    ("claude-opus-4-5", OPUS_4_5),
    ("claude-opus-4-6", OPUS_4_5),
)
_EXACT_RULES: dict[str, ModelPrice] = {"claude-opus-4": OPUS_4_0}


def price_for(model: str) -> ModelPrice | None:
    """The list price of ``model``, or ``None`` when it is not in the table."""
    name = model.strip().lower()
    if name in _EXACT_RULES:
        return _EXACT_RULES[name]
    for prefix, price in PRICE_RULES:
        if name.startswith(prefix):
            return price
    return None


@dataclass(frozen=True, slots=True)
class Cost:
    cents: Decimal
    unpriced: bool = False


def cost_cents(model: str, usage: Usage, *, batch: bool = False) -> Cost:
    """Cost of ``usage`` on ``model`` in cents (4 decimals); ``batch=True`` applies the 50% batch discount."""
    price = price_for(model)
    if price is None:
        return Cost(cents=Decimal(0).quantize(CENTS_QUANTUM), unpriced=True)
    dollars = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) / _TOKENS_PER_MILLION
    if batch:
        dollars *= BATCH_DISCOUNT
    return Cost(cents=(dollars * _CENTS_PER_DOLLAR).quantize(CENTS_QUANTUM))
