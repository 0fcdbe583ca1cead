"""Quality feature bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DuplicatePairRead(BaseModel):
    first_conversation_id: str
    second_conversation_id: str
    jaccard: float = Field(description="Exact Jaccard index of the two conversations' word 3-gram sets.")
    estimated_jaccard: float = Field(description="The MinHash estimate of the same (128 permutations).")


class DuplicateReport(BaseModel):
    threshold: float
    conversations_compared: int
    pairs: list[DuplicatePairRead]
