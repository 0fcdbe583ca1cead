"""ConversationFilters on its own (no database): normalisation, the canonical URL, the active-filter count."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from training_data_studio.conversations.schemas import ConversationFilters


def test_defaults_give_the_bare_matrix_url() -> None:
    filters = ConversationFilters()
    assert filters.url("/") == "/"
    assert filters.effective_sort == "number"
    assert filters.active_filter_count == 0


def test_the_url_keeps_only_what_differs_from_the_defaults_in_a_stable_order() -> None:
    filters = ConversationFilters.model_validate(
        {
            "page_size": "25",
            "q": "emergency fund",
            "persona": ["Marcus", "Marcus", "David"],
            "quality_min": "1",
            "quality_max": "4.5",
            "is_seed": "true",
            "page": 3,
        }
    )
    assert filters.persona == ["Marcus", "David"]
    assert filters.quality_min is None  # the bottom of the range filters nothing
    assert filters.url("/") == (
        "/?persona=Marcus&persona=David&q=emergency+fund&quality_max=4.5&is_seed=true&page=3&page_size=25"
    )
    assert filters.url("/", page=None, sort="quality", order="desc") == (
        "/?persona=Marcus&persona=David&q=emergency+fund&quality_max=4.5&is_seed=true&sort=quality&order=desc"
        "&page_size=25"
    )
    assert filters.active_filter_count == 4
    assert filters.effective_sort == "relevance"


def test_relevance_without_a_search_falls_back_to_number() -> None:
    assert ConversationFilters(sort="relevance").effective_sort == "number"


@pytest.mark.parametrize(
    "data",
    [
        {"page_size": 10},
        {"page": 0},
        {"persona": ["Nobody"]},
        {"quality_min": 4, "quality_max": 3},
        {"topic": "x" * 201},
        {"q": "a\x00b"},
    ],
)
def test_invalid_values_are_rejected(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ConversationFilters.model_validate(data)
