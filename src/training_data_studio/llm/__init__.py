"""LLM providers behind one protocol: Claude (Anthropic SDK) and any OpenAI-compatible server."""

from .base import (
    GenerationRequest,
    Overloaded,
    Provider,
    ProviderError,
    ProviderRefused,
    ProviderReply,
    RateLimited,
    RateLimitInfo,
    Repair,
    ServerError,
    Usage,
)
from .factory import GenerationUnavailable, provider_from_settings

__all__ = [
    "GenerationRequest",
    "GenerationUnavailable",
    "Overloaded",
    "Provider",
    "ProviderError",
    "ProviderRefused",
    "ProviderReply",
    "RateLimitInfo",
    "RateLimited",
    "Repair",
    "ServerError",
    "Usage",
    "provider_from_settings",
]
