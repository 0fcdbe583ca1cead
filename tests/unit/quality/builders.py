"""Conversations for the quality tests: our shipped samples, and copies of them edited to break one rule.

Every edit keeps the rest of the document consistent (a reply and its breakdown change together), so a
conversation built to break one check breaks that check and not, by accident, the one under test.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.helpers.export_factories import sample_documents
from training_data_studio.conversations.document import TrainingPair

SAMPLE_NAMES = ("david", "jennifer", "marcus")  # sample_documents() order (file names sorted)
RATIONALE = {"first phrase": "why it was chosen", "second phrase": "why that", "third phrase": "and why this"}


def sample_pairs(name: str = "jennifer") -> list[dict[str, Any]]:
    """A deep copy of one sample's training pairs, as parsed JSON."""
    document = sample_documents()[SAMPLE_NAMES.index(name)]
    return copy.deepcopy(document["training_pairs"])


def validated(pairs: list[dict[str, Any]]) -> list[TrainingPair]:
    return [TrainingPair.model_validate(pair) for pair in pairs]


def set_reply(pair: dict[str, Any], sentences: list[str], *, rationale: dict[str, str] | None = None) -> None:
    """Make ``sentences`` the reply and its breakdown (each analysed with three word-choice rationales)."""
    template = pair["response_breakdown"]["sentences"][0]
    pair["target_response"] = " ".join(sentences)
    pair["response_breakdown"]["total_sentences"] = len(sentences)
    pair["response_breakdown"]["sentences"] = [
        {
            **template,
            "sentence_number": number,
            "text": text,
            "word_choice_rationale": dict(rationale or RATIONALE),
        }
        for number, text in enumerate(sentences, start=1)
    ]


def reply_sentences(pair: dict[str, Any]) -> list[str]:
    return [sentence["text"] for sentence in pair["response_breakdown"]["sentences"]]


def replace_sentence(pair: dict[str, Any], number: int, text: str) -> None:
    """Replace sentence ``number`` (1-based) of a reply, in the reply and in its breakdown."""
    sentences = reply_sentences(pair)
    sentences[number - 1] = text
    pair["target_response"] = " ".join(sentences)
    pair["response_breakdown"]["sentences"][number - 1]["text"] = text
