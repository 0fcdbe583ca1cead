"""JSON routes of the quality feature."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..core.deps import SessionDep, UserDep
from . import duplicates
from .schemas import DuplicatePairRead, DuplicateReport

router = APIRouter(prefix="/api/train-data/quality", tags=["quality"])


@router.get("/duplicates", response_model=DuplicateReport)
def near_duplicates(
    session: SessionDep,
    user: UserDep,
    threshold: Annotated[float, Query(gt=0, le=1)] = duplicates.DEFAULT_THRESHOLD,
    status: Annotated[list[str] | None, Query(description="Only conversations with these statuses.")] = None,
) -> DuplicateReport:
    """Pairs of conversations whose wording overlaps at or above the threshold (Jaccard of word 3-grams)."""
    compared, pairs = duplicates.duplicate_report(session=session, threshold=threshold, statuses=status)
    return DuplicateReport(
        threshold=threshold,
        conversations_compared=compared,
        pairs=[
            DuplicatePairRead(
                first_conversation_id=p.first_id,
                second_conversation_id=p.second_id,
                jaccard=round(p.jaccard, 4),
                estimated_jaccard=round(p.estimated_jaccard, 4),
            )
            for p in pairs
        ],
    )
