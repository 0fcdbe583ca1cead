"""Chat-format JSON Lines: one ``{"messages": [{"role", "content", "weight"?}, ...]}`` object per line.

The layout OpenAI fine-tuning, TRL's SFTTrainer and LLaMA-Factory (``formatting: sharegpt`` with the
OpenAI role tags, written to ``dataset_info.json``) all read.
"""

from __future__ import annotations

from typing import Any

from . import Example, dumps_line

EXTENSION = "jsonl"
ROLES = ("system", "user", "assistant")


def example_record(example: Example) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for message in example.messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.weight is not None:
            item["weight"] = message.weight
        messages.append(item)
    return {"messages": messages}


def render(examples: list[Example]) -> str:
    """The whole file: one line per example, each ending with a newline (empty text for no examples)."""
    return "".join(dumps_line(example_record(example)) + "\n" for example in examples)


def dataset_info_entry(file_name: str) -> dict[str, Any]:
    """LLaMA-Factory's description of an OpenAI-style messages file (its data/README.md, "OpenAI Format")."""
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
            "system_tag": "system",
        },
    }
