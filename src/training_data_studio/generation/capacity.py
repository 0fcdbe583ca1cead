"""How many conversations to work on at once: as many as the account's limits keep busy.

Conversations are written turn by turn, one call at a time each, so a conversation at work is a call in
flight most of the time and the pacer's :meth:`~..llm.pacing.Pacer.calls_wanted` sizes them: a low-tier
account keeps two or three busy, a high-tier one a hundred. The number only grows during a run: a
conversation started is finished (the account's limits decide when each of its calls starts), and the
first minute's full buckets, which ask for the most, are spent within a minute anyway.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from ..llm.base import Provider
from ..llm.pacing import REFILL_WINDOW_SECONDS, PacedProvider

# Until a reply has told the limits (the first call goes alone anyway): a start a low tier can carry.
INITIAL_CONVERSATIONS_AT_ONCE = 4
# At most, whatever the account: what one process's event loop, threads and connections carry well.
MAX_CONVERSATIONS_AT_ONCE = 128
# Conversations are added in steps of this many, so that a worker is not started for each one.
GROWTH_STEP = 4
# How often the limits are looked at (a share of the limits' window when it is scaled for a benchmark).
CHECK_SECONDS = 1.0


async def conversations_wanted(provider: Provider | None, current: int) -> int:
    """Conversations at once for what the pacer has seen of the account: never fewer than ``current``."""
    if not isinstance(provider, PacedProvider):
        return current
    calls = await provider.pacer.calls_wanted()
    if calls is None:
        return current
    wanted = min(MAX_CONVERSATIONS_AT_ONCE, GROWTH_STEP * math.ceil(calls / GROWTH_STEP))
    return max(current, wanted)


def check_interval(provider: Provider | None) -> float:
    if isinstance(provider, PacedProvider):
        return CHECK_SECONDS * provider.pacer.window_seconds / REFILL_WINDOW_SECONDS
    return CHECK_SECONDS


async def grow_with_the_limits(
    provider: Provider | None, grow_to: Callable[[int], None], *, start: int = INITIAL_CONVERSATIONS_AT_ONCE
) -> None:
    """``grow_to(n)`` with the first number, then each time the limits want more, until the ceiling."""
    current = start
    grow_to(current)
    interval = check_interval(provider)
    while current < MAX_CONVERSATIONS_AT_ONCE:
        await asyncio.sleep(interval)
        wanted = await conversations_wanted(provider, current)
        if wanted > current:
            current = wanted
            grow_to(current)
