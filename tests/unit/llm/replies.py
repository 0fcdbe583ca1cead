"""Replies for pacing tests that never reach a provider."""

from __future__ import annotations

from tests.unit.conftest import TEST_MODEL
from training_data_studio.llm.base import ProviderReply, RateLimitInfo, Usage


def a_reply(info: RateLimitInfo | None = None) -> ProviderReply:
    """An empty successful reply whose headers said ``info``."""
    return ProviderReply(
        data={},
        output_text="{}",
        raw_response="{}",
        stop_reason="tool_use",
        usage=Usage(),
        model=TEST_MODEL,
        rate_limits=info or RateLimitInfo(),
    )
