"""A fake "model" that writes gold-standard content: it obeys the brief and answers with the user's seeds.

The scenario behind the generation checks: a model that does what the prompt asks (the required
conversation id, the required turn, the required number of turns) and writes conversations of the quality
of the user's own approved seeds must be accepted on the first call. :class:`SeedModel` answers a
turn-by-turn request with one training pair of a seed file, and a whole-conversation request with as many
pairs as asked, relabelled with the requested ids and turn numbers and otherwise exactly as the seed has
them: its key-sentence breakdowns, its declared counts, its summarised histories.

The seed files are read from a folder given at run time (the user's files stay where they are; nothing of
them is copied into the project). Plug it into the fake server as its ``responder``::

    FakeAnthropic(responder=SeedModel.from_folder(folder))
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fake_llm import iter_texts, requested_conversation, requested_turn

# The user's approved seed conversations (files 10+ are broken or not approved).
SEED_FILE_PATTERN = "c-alpha-build_v3.4-LoRA-FP-convo-0[1-9]-complete.json"


@dataclass(frozen=True)
class SeedModel:
    """Answers with the training pairs of ``seeds`` (one tuple of pairs per seed conversation)."""

    seeds: tuple[tuple[dict[str, Any], ...], ...]

    @classmethod
    def from_folder(cls, folder: Path, pattern: str = SEED_FILE_PATTERN) -> SeedModel:
        files = sorted(folder.glob(pattern))
        if not files:
            raise FileNotFoundError(f"no seed files matching {pattern} in {folder}")
        seeds = tuple(tuple(json.loads(path.read_text(encoding="utf-8"))["training_pairs"]) for path in files)
        return cls(seeds)

    def _chain(self, conversation_id: str) -> list[dict[str, Any]]:
        """The pairs this conversation draws from: its seed first (chosen by the id, so every turn of one
        conversation comes from the same seed), then the following seeds for longer conversations."""
        lead = self._lead(conversation_id)
        ordered: Sequence[tuple[dict[str, Any], ...]] = self.seeds[lead:] + self.seeds[:lead]
        return [pair for seed in ordered for pair in seed]

    def pair(self, conversation_id: str, turn: int) -> dict[str, Any]:
        """Turn ``turn`` of the conversation, relabelled: the required ids and number, nothing else changed."""
        pair = copy.deepcopy(self._chain(conversation_id)[turn - 1])
        pair["id"] = f"{conversation_id}_turn{turn}"
        pair["conversation_id"] = conversation_id
        pair["turn_number"] = turn
        return pair

    def _lead(self, conversation_id: str) -> int:
        return int.from_bytes(hashlib.sha256(conversation_id.encode()).digest()[:4], "big") % len(self.seeds)

    def _lead_length(self, conversation_id: str) -> int:
        return len(self.seeds[self._lead(conversation_id)])

    def conversation(self, conversation_id: str, turns: int) -> dict[str, Any]:
        """A whole conversation. Pairs of the conversation's own seed keep the seed's history as written (its
        summaries included); a pair borrowed from the next seed for a longer conversation gets the history a
        model writing this conversation would give it: the earlier messages, with roles."""
        pairs = [self.pair(conversation_id, turn) for turn in range(1, turns + 1)]
        for index in range(self._lead_length(conversation_id), turns):
            history: list[dict[str, Any]] = []
            for earlier in pairs[:index]:
                number = earlier["turn_number"]
                history.append({"turn": number, "role": "user", "content": earlier["current_user_input"]})
                history.append({"turn": number, "role": "assistant", "content": earlier["target_response"]})
            pairs[index]["conversation_history"] = history
        return {
            "conversation_metadata": {"conversation_id": conversation_id, "total_turns": turns},
            "training_pairs": pairs,
        }

    def __call__(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The fake server's responder: the tool input for a generation request."""
        texts = list(iter_texts(params))
        conversation_id, turns = requested_conversation(texts)
        turn = requested_turn(texts)
        if turn is None:
            return self.conversation(conversation_id, turns)
        single = self.pair(conversation_id, turn)
        single["conversation_history"] = []  # as the turn prompt asks
        return single
