"""Generating conversations with an LLM: providers, prompts, output checks, the repair loop, pacing, pricing."""
