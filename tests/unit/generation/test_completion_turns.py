"""How many turns a completion writes: up to the planned turns, and one more than stored when the conversation
ends on a client message; a conversation with nothing left to write is refused before any call."""

from __future__ import annotations

import pytest

from training_data_studio.conversations.document import MAX_TURNS, TrainingPair
from training_data_studio.conversations.store import StoredExchanges
from training_data_studio.generation.flows import completion_turns
from training_data_studio.generation.prompts import PromptError
from training_data_studio.models import TrainingConversation
from training_data_studio.testing.fake_llm import faulty_pair


def _stored(count: int, *, open_message: str | None = None) -> StoredExchanges:
    pairs = [TrainingPair.model_validate(faulty_pair("ok", "fp_test_001", n)) for n in range(1, count + 1)]
    return StoredExchanges(pairs=pairs, source_pairs=[], turn_ids=[], open_message=open_message)


def _conversation(target: int | None) -> TrainingConversation:
    return TrainingConversation(conversation_number=42, turn_count_target=target)


def test_the_planned_turns_are_the_target() -> None:
    assert completion_turns(_conversation(4), _stored(1)) == 4


def test_a_waiting_client_message_gets_its_reply_even_past_the_plan() -> None:
    assert completion_turns(_conversation(2), _stored(2, open_message="Still there?")) == 3


def test_nothing_left_to_write_is_refused_with_the_reason() -> None:
    with pytest.raises(PromptError, match="#42 holds 3 of its 3 planned turns and ends on a consultant reply"):
        completion_turns(_conversation(3), _stored(3))


def test_no_room_for_the_reply_is_refused() -> None:
    with pytest.raises(PromptError, match=f"at most {MAX_TURNS} turns"):
        completion_turns(_conversation(MAX_TURNS), _stored(MAX_TURNS, open_message="One more thing."))
