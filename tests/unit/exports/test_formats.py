"""Chat examples, weights, and the three renderings (chat JSONL, ShareGPT, annotated)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.helpers.documents import json_identical
from tests.helpers.export_factories import export_conversation, make_pairs
from training_data_studio.exports.formats import annotated, build_examples, chat_jsonl, sharegpt
from training_data_studio.exports.schemas import ExportMode, WeightsOption


def _roles(example: dict[str, object]) -> list[str]:
    return [m["role"] for m in example["messages"]]  # type: ignore[attr-defined, index]


def test_per_conversation_is_one_example_with_every_turn_in_order() -> None:
    conversation = export_conversation("conv_a", turns=3)
    [example] = build_examples(conversation, ExportMode.PER_CONVERSATION)
    record = chat_jsonl.example_record(example)
    assert _roles(record) == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    pairs = conversation.pairs
    assert record["messages"][0]["content"] == pairs[0].system_prompt
    assert [m["content"] for m in record["messages"][1::2]] == [p.current_user_input for p in pairs]
    assert [m["content"] for m in record["messages"][2::2]] == [p.target_response for p in pairs]
    assert all("weight" not in m for m in record["messages"])  # no weights unless asked for


def test_per_turn_is_one_example_per_turn_with_its_history() -> None:
    conversation = export_conversation("conv_b", turns=3)
    examples = build_examples(conversation, ExportMode.PER_TURN)
    assert [e.example_id for e in examples] == ["conv_b_turn1", "conv_b_turn2", "conv_b_turn3"]
    last = chat_jsonl.example_record(examples[2])
    assert len(last["messages"]) == 7
    assert last["messages"][-1]["content"] == conversation.pairs[2].target_response
    # Earlier replies are context (weight 0); the turn's own reply is learned (weight 1).
    assert [m.get("weight") for m in last["messages"] if m["role"] == "assistant"] == [0, 0, 1]
    first = chat_jsonl.example_record(examples[0])
    assert _roles(first) == ["system", "user", "assistant"]


@pytest.mark.parametrize(
    ("weights", "seed", "status", "expected"),
    [
        (WeightsOption.ALL, False, "reviewed", 1),
        (WeightsOption.SEEDS_ONLY, True, "approved", 1),
        (WeightsOption.SEEDS_ONLY, False, "approved", 0),
        (WeightsOption.APPROVED_TURNS, False, "approved", 1),
        (WeightsOption.APPROVED_TURNS, True, "reviewed", 0),
    ],
)
def test_weights_options(weights: WeightsOption, seed: bool, status: str, expected: int) -> None:
    conversation = export_conversation("conv_w", turns=2, is_seed=seed, status=status)
    [example] = build_examples(conversation, ExportMode.PER_CONVERSATION, weights)
    record = chat_jsonl.example_record(example)
    assert [m["weight"] for m in record["messages"] if m["role"] == "assistant"] == [expected, expected]
    assert all("weight" not in m for m in record["messages"] if m["role"] != "assistant")

    per_turn = build_examples(conversation, ExportMode.PER_TURN, weights)
    final = chat_jsonl.example_record(per_turn[1])
    assert [m["weight"] for m in final["messages"] if m["role"] == "assistant"] == [0, expected]


def test_chat_jsonl_lines_are_sorted_compact_and_newline_terminated() -> None:
    conversation = export_conversation("conv_u", turns=1)
    text = chat_jsonl.render(build_examples(conversation, ExportMode.PER_CONVERSATION))
    assert text.endswith("\n")
    assert text.count("\n") == 1
    record = json.loads(text)
    assert list(record["messages"][0]) == ["content", "role"]  # keys sorted
    assert chat_jsonl.render([]) == ""


def test_chat_jsonl_keeps_non_ascii_text_as_is() -> None:
    pairs = make_pairs("conv_n", 1)
    pairs[0]["target_response"] = "Café budgets — 20 % savings, ¿vale?"
    text = chat_jsonl.render(build_examples(export_conversation("conv_n", pairs=pairs), ExportMode.PER_CONVERSATION))
    assert "Café budgets — 20 % savings, ¿vale?" in text


def test_sharegpt_record_follows_llama_factory() -> None:
    conversation = export_conversation("conv_s", turns=2)
    examples = build_examples(conversation, ExportMode.PER_CONVERSATION)
    [record] = json.loads(sharegpt.render(examples))
    assert record["id"] == "conv_s"
    assert record["system"] == conversation.pairs[0].system_prompt
    assert [m["from"] for m in record["conversations"]] == ["human", "gpt", "human", "gpt"]
    assert record["conversations"][1]["value"] == conversation.pairs[0].target_response


def test_sharegpt_dataset_info_entry_shape() -> None:
    entry = sharegpt.dataset_info_entry("train.json")
    assert entry == {
        "file_name": "train.json",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system"},
        "tags": {
            "role_tag": "from",
            "content_tag": "value",
            "user_tag": "human",
            "assistant_tag": "gpt",
            "system_tag": "system",
        },
    }


def test_chat_jsonl_dataset_info_entry_is_the_openai_layout() -> None:
    entry = chat_jsonl.dataset_info_entry("train.jsonl")
    assert entry["formatting"] == "sharegpt"
    assert entry["columns"] == {"messages": "messages"}
    assert entry["tags"]["role_tag"] == "role"
    assert entry["tags"]["user_tag"] == "user"


def test_annotated_record_is_the_stored_conversation_unchanged() -> None:
    pairs = make_pairs("conv_x", 2)
    conversation = export_conversation("conv_x", pairs=pairs)
    [record] = json.loads(annotated.render([conversation]))
    assert json_identical(record["training_pairs"], pairs)
    assert record["consultant_profile"] == conversation.envelope["consultant_profile"]


def test_annotated_record_without_envelope_names_the_consultant() -> None:
    conversation = export_conversation("conv_y")
    record = annotated.conversation_record(dataclasses.replace(conversation, envelope={}))
    assert record["consultant_profile"] == {"name": "Elena Morales, CFP"}
