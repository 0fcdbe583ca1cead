"""Pick the provider the settings allow: Claude when there is a key, else an OpenAI-compatible server."""

from __future__ import annotations

from ..core.config import Settings
from ..core.errors import AppError
from .anthropic_provider import AnthropicProvider
from .base import Provider
from .openai_provider import OpenAICompatibleProvider


class GenerationUnavailable(AppError):
    """No LLM is configured, so nothing can be generated (everything else in the product still works)."""

    def __init__(self) -> None:
        super().__init__(
            "generation_unavailable",
            "Generation is not configured. Set ANTHROPIC_API_KEY to use Claude, or set TDS_OPENAI_BASE_URL "
            "and TDS_OPENAI_MODEL to use an OpenAI-compatible server (Ollama, vLLM, LM Studio).",
            status=503,
        )


def provider_from_settings(settings: Settings) -> Provider:
    """Anthropic if ``ANTHROPIC_API_KEY`` is set, else OpenAI-compatible if its URL and model are set."""
    key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
    if key:
        return AnthropicProvider(api_key=key, model=settings.anthropic_model)
    if settings.openai_base_url and settings.openai_model:
        openai_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatibleProvider(
            base_url=settings.openai_base_url, model=settings.openai_model, api_key=openai_key
        )
    raise GenerationUnavailable()
