"""`tds bench generate --token-aware`: generation against a fake that limits like a real Claude account.

The fake (token-aware mode) refuses a call unless its three buckets hold one request, the call's uncached
input tokens and its max_tokens of output (charged up front, the unused part given back at the end), and
writes at ``OUTPUT_TOKENS_PER_SECOND`` per call, streamed. Time is scaled: every limit per minute and the
output speed are multiplied by ``scale``, so a run takes 1/scale of the real time and every rate measured
is divided by it again; the ratios (time against the bound, 429s, cost) are unchanged by the scaling.

Each run generates ``conversations`` planned conversations the way a worker does (``generate_conversation``
through the paced, streaming provider), without the database, which no rate limit touches, on as many
conversations at once as `tds generate` works on: the number it starts with, grown as the pacer finds the
limits keep more busy (``generation.capacity``, the same function). Two shapes are compared:

* ``before``: one call per conversation (the whole annotated conversation, max_tokens = turns x 9,000);
* ``after``: one call per turn (max_tokens 7,000, sized to the part), the conversation so far as context.

The bound: a job of N conversations needs N x (calls, uncached input, output) from buckets that start full
and refill at their limit per minute, so it cannot finish before ``max over budgets of (need - limit) /
limit`` minutes, nor before the longest conversation's own calls have run one after another (its output at the
fake's speed).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console

from ..generation.capacity import INITIAL_CONVERSATIONS_AT_ONCE, grow_with_the_limits
from ..generation.generate import GenerationFailed, generate_conversation
from ..generation.prompts import BuiltPrompt, build_prompt
from ..llm.anthropic_provider import AnthropicProvider
from ..llm.base import Provider, ProviderError, RequestTooLarge, Usage
from ..llm.pacing import Gate, PacedProvider, Pacer
from ..llm.pricing import cost_cents
from ..plan.service import SAMPLES_DIR, PlanRow, read_plan, read_templates
from ..testing.fake_anthropic import MODEL, FakeAnthropic
from ..testing.fake_llm import FakeConfig
from ..testing.rate_buckets import HIGH_TIER, LOW_TIER, Limits
from .common import append_section, machine_line

OUTPUT_TOKENS_PER_SECOND = 60  # a real account's order of magnitude for Sonnet output
TIERS = {"low": LOW_TIER, "high": HIGH_TIER}


@dataclass(frozen=True)
class TokenRun:
    tier: str
    shape: str
    scale: float
    conversations: int
    generated: int
    refused: int
    failed: int
    wall_seconds: float
    calls: int
    rate_limited: int
    input_tokens: int
    output_tokens: int
    cost_cents: Decimal
    bound_seconds: float
    steady_per_hour: float
    at_once: int  # conversations at once that the run grew to
    peak_calls: int  # calls in flight at most

    @property
    def per_hour(self) -> float:
        """Conversations per hour of real (unscaled) time."""
        return 0.0 if not self.generated else self.generated / (self.wall_seconds * self.scale) * 3600


def _bound(limits: Limits, window: float, calls: int, input_tokens: int, output_tokens: int, serial: float) -> float:
    """Seconds (scaled) the job cannot beat: what the buckets allow beyond their first full window, and no
    less than one conversation's own calls one after another (``serial``)."""
    windows = max(
        (need - limit) / limit
        for need, limit in (
            (calls, limits.requests_per_minute),
            (input_tokens, limits.input_tokens_per_minute),
            (output_tokens, limits.output_tokens_per_minute),
        )
    )
    return max(windows * window, serial)


def _steady_per_hour(limits: Limits, n: int, calls: int, input_tokens: int, output_tokens: int) -> float:
    """Conversations per hour the limits allow once the first minute's burst is spent (real time)."""
    per_minute = min(
        limits.requests_per_minute / (calls / n),
        limits.input_tokens_per_minute / max(1, input_tokens / n),
        limits.output_tokens_per_minute / max(1, output_tokens / n),
    )
    return per_minute * 60


def _prompts(count: int) -> list[tuple[PlanRow, BuiltPrompt]]:
    templates = {t["template_id"]: t for t in read_templates()}
    examples = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SAMPLES_DIR.glob("*.json"))][:2]
    rows = [row for row in read_plan() if not row.is_seed_example][:count]
    return [(row, build_prompt(templates[row.template_key], row, examples)) for row in rows]


async def _one(provider: Provider, shape: str, row: PlanRow, prompt: BuiltPrompt) -> tuple[Usage, int]:
    """Generate one conversation in ``shape``: (usage, calls). Before: the whole conversation in one call."""
    if shape == "after":
        outcome = await generate_conversation(provider, prompt, row)
        return outcome.usage, len(outcome.attempts)
    reply = await provider.generate(prompt.request())
    return reply.usage, 1


async def _run(tier: str, shape: str, conversations: int, scale: float) -> TokenRun:
    limits = TIERS[tier]
    window = 60.0 / scale  # the account's limits per minute, refilled over a scaled minute
    config = FakeConfig(
        token_limits=limits,
        window_seconds=window,
        output_tokens_per_second=OUTPUT_TOKENS_PER_SECOND * scale,
        seed=7,
    )
    work = _prompts(conversations)
    done: list[tuple[Usage, int]] = []
    refused = failed = 0
    with FakeAnthropic(config) as fake:
        pacer = Pacer(None, window_seconds=window)
        provider = PacedProvider(AnthropicProvider(api_key="bench-key", model=MODEL, base_url=fake.url), pacer)
        gate = Gate(1)
        peak = 0

        def grow_to(total: int) -> None:
            nonlocal peak
            gate.limit = peak = total

        async def one(row: PlanRow, prompt: BuiltPrompt) -> None:
            nonlocal refused, failed
            async with gate:
                try:
                    done.append(await _one(provider, shape, row, prompt))
                except RequestTooLarge:
                    refused += 1
                except (GenerationFailed, ProviderError) as exc:
                    if isinstance(getattr(exc, "cause", None), RequestTooLarge):
                        refused += 1
                    else:
                        failed += 1

        started = time.monotonic()
        grower = asyncio.create_task(grow_with_the_limits(provider, grow_to))
        try:
            await asyncio.gather(*(one(row, prompt) for row, prompt in work))
        finally:
            grower.cancel()
            await provider.aclose()
        wall = time.monotonic() - started
        rate_limited = fake.counters.rate_limited
    usage_in = sum(u.input_tokens + u.cache_write_tokens for u, _ in done)
    usage_out = sum(u.output_tokens for u, _ in done)
    calls = sum(c for _, c in done)
    cost = sum((cost_cents(MODEL, u).cents for u, _ in done), Decimal(0))
    n = len(done)
    # One conversation's calls run one after another: the longest one's output at the fake's speed.
    serial = max((u.output_tokens for u, _ in done), default=0) / (OUTPUT_TOKENS_PER_SECOND * scale)
    return TokenRun(
        tier=tier,
        shape=shape,
        scale=scale,
        conversations=conversations,
        generated=n,
        refused=refused,
        failed=failed,
        wall_seconds=wall,
        calls=calls,
        rate_limited=rate_limited,
        input_tokens=usage_in,
        output_tokens=usage_out,
        cost_cents=cost,
        bound_seconds=_bound(limits, window, calls, usage_in, usage_out, serial) if n else 0.0,
        steady_per_hour=_steady_per_hour(limits, n, calls, usage_in, usage_out) if n else 0.0,
        at_once=peak,
        peak_calls=pacer.peak_in_flight,
    )


@dataclass(frozen=True)
class TokenBenchResult:
    runs: list[TokenRun]

    def describe(self) -> str:
        lines = [
            f"- Machine: {machine_line()}",
            f"- Fake: token-aware mode (requests, input and output token buckets; max_tokens taken up front, the "
            f"unused part given back; {OUTPUT_TOKENS_PER_SECOND} output tokens/s per call, streamed), model {MODEL}; "
            "our three sample seeds as the model's content; time scaled by the factor shown (the limits refill "
            "over 60 s / scale, output runs scale times faster, retry-after in milliseconds); rates below are "
            "converted back to real time; conversations at once as `tds generate` sizes them (starting at "
            f"{INITIAL_CONVERSATIONS_AT_ONCE}, grown as the replies' headers show the limits keep more busy)",
            f"- Low tier {LOW_TIER.requests_per_minute} RPM / {LOW_TIER.input_tokens_per_minute:,} ITPM / "
            f"{LOW_TIER.output_tokens_per_minute:,} OTPM; high tier {HIGH_TIER.requests_per_minute:,} RPM / "
            f"{HIGH_TIER.input_tokens_per_minute:,} ITPM / {HIGH_TIER.output_tokens_per_minute:,} OTPM",
            "",
            "| tier | shape | scale | generated | refused (cannot fit) | wall (scaled) | vs job bound | "
            "conv./hour | steady bound conv./hour | conv. at once | calls in flight (max) | calls | 429s | "
            "cost / conv. |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for run in self.runs:
            ratio = f"{run.wall_seconds / run.bound_seconds:.2f}×" if run.bound_seconds else "—"
            cost = f"${run.cost_cents / run.generated / 100:.3f}" if run.generated else "—"
            steady = f"{run.steady_per_hour:,.0f}" if run.steady_per_hour else "—"
            lines.append(
                f"| {run.tier} | {run.shape} | {run.scale:g}× | {run.generated}/{run.conversations} | {run.refused} | "
                f"{run.wall_seconds:.1f} s | {ratio} | {run.per_hour:,.0f} | {steady} | {run.at_once} | "
                f"{run.peak_calls} | {run.calls} | "
                f"{run.rate_limited} | {cost} |"
            )
        return "\n".join(lines)


def run_token_bench(
    console: Console,
    *,
    conversations: int,
    scale: float,
    shapes: tuple[str, ...],
    tiers: tuple[str, ...] = tuple(TIERS),
) -> TokenBenchResult:
    runs = []
    for tier in tiers:
        for shape in shapes:
            run = asyncio.run(_run(tier, shape, conversations, scale))
            console.print(
                f"{tier} tier, {shape}: {run.generated}/{conversations} in {run.wall_seconds:.1f} s (scaled), "
                f"{run.rate_limited} × 429, {run.refused} refused"
            )
            runs.append(run)
    return TokenBenchResult(runs)


def append_to_docs(result: TokenBenchResult) -> None:
    append_section("Generation against real account limits (token-aware fake)", result.describe())
