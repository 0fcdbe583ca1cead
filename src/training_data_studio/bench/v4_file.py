"""A v4 training file of the size of the user's real ones, built in memory from the shared v4 example.

The user's real training files are not in the repository (72 conversations / 447 pairs, about 4 MB). The shared
example is a real file of that layout (3 conversations of a half pair and its reply), so it is replicated: each
new conversation takes an example conversation's half pair and reply as its exchange pattern, repeats it for 3
exchanges (6 pairs, each carrying the growing ``conversation_history`` as the real files do), and ends on an
open client message in 15 of the 72 conversations (72 x 6 + 15 = 447 pairs). Every conversation gets a fresh
UUID; pair ids stay ``<topic word>_turn<n>`` and so repeat across conversations, as in the real files. Nothing
of it is written to the repository.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from ..core.errors import AppError

V4_EXAMPLE = "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json"
CONVERSATIONS = 72
EXCHANGES = 3
OPEN_ENDINGS = 15


def load_v4_example(seeds: Path) -> dict[str, Any]:
    path = seeds / V4_EXAMPLE
    if not path.is_file():
        raise AppError("bench_seeds", f"The v4 example {path} does not exist (use --seeds).")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _pattern(block: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The example conversation's half pair (null target) and the pair with its reply."""
    pairs = block["training_pairs"]
    half = next(pair for pair in pairs if pair.get("target_response") is None)
    answered = next(pair for pair in pairs if pair.get("target_response"))
    return half, answered


def _pair(template: dict[str, Any], number: int, history: list[dict[str, Any]], exchange: int) -> dict[str, Any]:
    pair = copy.deepcopy(template)
    word = str(pair["id"]).rsplit("_turn", 1)[0]
    pair["id"] = f"{word}_turn{number}"
    pair["turn_number"] = number
    pair["conversation_history"] = copy.deepcopy(history)
    # Each exchange asks something a little different, so that no two turns of a conversation are identical.
    pair["current_user_input"] = f"{template['current_user_input']} (part {exchange})"
    training = pair.get("training_metadata")
    if isinstance(training, dict) and "conversation_turn" in training:
        training["conversation_turn"] = number
    return pair


def _state(pair: dict[str, Any]) -> dict[str, Any]:
    """The client's emotional state in a history entry, as the real files record it."""
    emotions = (pair.get("emotional_context") or {}).get("detected_emotions") or {}
    state = {key: emotions[key] for key in ("primary", "secondary", "intensity") if key in emotions}
    return {"emotional_state": state} if "primary" in state and "intensity" in state else {}


def _conversation(block: dict[str, Any], *, open_ending: bool) -> dict[str, Any]:
    half, answered = _pattern(block)
    conversation_id = str(uuid.uuid4())
    pairs: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    number = 0
    for exchange in range(1, EXCHANGES + 1):
        number += 1
        asked = _pair(half, number, history, exchange)
        pairs.append(asked)
        history.append({"turn": number, "role": "user", "content": asked["current_user_input"], **_state(asked)})
        number += 1
        replied = _pair(answered, number, history, exchange)
        pairs.append(replied)
        history.append({"turn": number, "role": "assistant", "content": replied["target_response"]})
    if open_ending:
        number += 1
        pairs.append(_pair(half, number, history, EXCHANGES + 1))
    metadata = copy.deepcopy(block["conversation_metadata"])
    metadata.update(
        conversation_id=conversation_id,
        source_file=f"fp_conversation_{conversation_id}.json",
        total_turns=len(pairs),
    )
    return {
        **copy.deepcopy({k: v for k, v in block.items() if k not in ("conversation_metadata", "training_pairs")}),
        "conversation_metadata": metadata,
        "training_pairs": pairs,
    }


def build_training_file(example: dict[str, Any], conversations: int = CONVERSATIONS) -> dict[str, Any]:
    """A training file of ``conversations`` conversations replicated from ``example`` (see the module doc)."""
    blocks = example["conversations"]
    built = [
        _conversation(blocks[index % len(blocks)], open_ending=index < OPEN_ENDINGS * conversations // CONVERSATIONS)
        for index in range(conversations)
    ]
    metadata = copy.deepcopy(example["training_file_metadata"])
    metadata.update(
        total_conversations=len(built),
        total_training_pairs=sum(len(block["training_pairs"]) for block in built),
    )
    envelope = {k: copy.deepcopy(v) for k, v in example.items() if k not in ("training_file_metadata", "conversations")}
    return {"training_file_metadata": metadata, **envelope, "conversations": built}


def training_file_bytes(example: dict[str, Any], conversations: int = CONVERSATIONS) -> bytes:
    return json.dumps(build_training_file(example, conversations), ensure_ascii=False, indent=2).encode("utf-8")
