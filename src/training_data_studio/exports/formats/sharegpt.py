"""ShareGPT JSON for LLaMA-Factory: a JSON array of
``{"id", "system", "conversations": [{"from": "human"|"gpt", "value"}, ...]}``.

Follows LLaMA-Factory's data/README.md ("Sharegpt Format", supervised fine-tuning): the system prompt is
the ``system`` column, and ``conversations`` alternates human (odd positions) and gpt (even positions),
ending with gpt. ``dataset_info.json`` names the columns and spells out the default tags.

ShareGPT has no per-message weight: LLaMA-Factory learns every gpt message of an example unless the
training config sets ``mask_history: true`` (then only the last one), which is what per-turn examples
expect.
"""

from __future__ import annotations

from typing import Any

from . import Example, dumps_document

EXTENSION = "json"
ROLE_TAGS = {"user": "human", "assistant": "gpt"}
TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "system_tag": "system",
}


def example_record(example: Example) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": example.example_id,
        "conversations": [{"from": ROLE_TAGS[m.role], "value": m.content} for m in example.dialogue],
    }
    if example.system is not None:
        record["system"] = example.system
    return record


def render(examples: list[Example]) -> str:
    return dumps_document([example_record(example) for example in examples])


def dataset_info_entry(file_name: str) -> dict[str, Any]:
    """The dataset description LLaMA-Factory's data/README.md gives for a sharegpt SFT file."""
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system"},
        "tags": dict(TAGS),
    }
