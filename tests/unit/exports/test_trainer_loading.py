"""What we write loads in the libraries trainers use: Hugging Face datasets, a transformers chat template with
an assistant-only mask, and LLaMA-Factory's dataset_info.json conventions. Nothing is downloaded: the
tokenizer is built here from the export's own words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.export_factories import export_conversation
from tests.helpers.training_files import v4_conversation
from training_data_studio.exports.formats.v4 import V4File
from training_data_studio.exports.schemas import ExportOptions
from training_data_studio.exports.service import write_export
from training_data_studio.exports.training_file import CHAT_JSONL, SHAREGPT, V4_JSONL, build_version
from training_data_studio.exports.validate import DATASET_INFO

# A chat template in the style of the common instruct models, with {% generation %} around what the
# assistant says, which is how transformers computes the assistant-only mask.
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}<|assistant|> {% generation %}{{ m['content'] }} <|end|>{% endgeneration %} "
    "{% else %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endif %}"
    "{% endfor %}"
)
SPECIAL = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    return


def _load_json(path: Path, cache: Path) -> Any:
    datasets = pytest.importorskip("datasets")
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


def _export(tmp_path: Path, export_format: str) -> Path:
    conversations = [
        export_conversation(f"conv_{n:03d}", number=n, persona_type=("Marcus", "Jennifer")[n % 2], turns=1 + n % 3)
        for n in range(1, 11)
    ]
    options = ExportOptions.model_validate({"format": export_format, "seed": 3, "val_fraction": 0.2})
    write_export(conversations, options, tmp_path / export_format)
    return tmp_path / export_format


def test_chat_jsonl_loads_with_a_messages_column(tmp_path: Path) -> None:
    folder = _export(tmp_path, "chat-jsonl")
    dataset = _load_json(folder / "train.jsonl", tmp_path / "cache")
    assert dataset.column_names == ["messages"]
    assert len(dataset) == len((folder / "train.jsonl").read_text().splitlines())
    first = dataset[0]["messages"]
    assert [m["role"] for m in first][:3] == ["system", "user", "assistant"]


def test_sharegpt_loads_and_follows_dataset_info(tmp_path: Path) -> None:
    folder = _export(tmp_path, "sharegpt")
    info = json.loads((folder / DATASET_INFO).read_text())
    entry = info["elena_morales_cfp_train"]
    assert entry["formatting"] == "sharegpt"
    columns, tags = entry["columns"], entry["tags"]
    dataset = _load_json(folder / entry["file_name"], tmp_path / "cache")
    assert set(dataset.column_names) == {"id", columns["messages"], columns["system"]}
    # LLaMA-Factory's sharegpt reader: user tags at odd positions, assistant tags at even ones, ending on one.
    for record in dataset:
        roles = [m[tags["role_tag"]] for m in record[columns["messages"]]]
        assert roles[0::2] == [tags["user_tag"]] * len(roles[0::2])
        assert roles[1::2] == [tags["assistant_tag"]] * len(roles[1::2])
        assert roles[-1] == tags["assistant_tag"]
        assert all(m[tags["content_tag"]] for m in record[columns["messages"]])


def test_training_file_renderings_load(tmp_path: Path) -> None:
    built = build_version(
        [v4_conversation(f"c_{n}", number=n, turns=2) for n in range(1, 4)],
        V4File("t", datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    )
    for stored in built.files():
        (tmp_path / stored.name).write_bytes(stored.data)
    chat = _load_json(tmp_path / CHAT_JSONL, tmp_path / "cache")
    assert chat.column_names == ["messages"]
    assert len(chat) == 3
    sharegpt = _load_json(tmp_path / SHAREGPT, tmp_path / "cache")
    assert set(sharegpt.column_names) == {"id", "conversations", "system"}
    # The v4 JSONL loads too, but its optional _meta line becomes a row of its own: a trainer must skip it.
    v4 = _load_json(tmp_path / V4_JSONL, tmp_path / "cache")
    assert len(v4) == 7
    assert v4[0]["_meta"]["total_pairs"] == 6
    assert all(row["_meta"] is None for row in v4.select(range(1, 7)))


def _tokenizer(texts: list[str]) -> Any:
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab: dict[str, int] = {"[UNK]": 0, "[PAD]": 1}
    for word in [*SPECIAL, *(w for t in texts for w in t.split())]:
        vocab.setdefault(word, len(vocab))
    core = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def test_the_assistant_mask_covers_exactly_the_consultant_replies(tmp_path: Path) -> None:
    folder = _export(tmp_path, "chat-jsonl")
    records = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    tokenizer = _tokenizer([m["content"] for r in records for m in r["messages"]])
    for record in records:
        messages = record["messages"]
        out = tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
        expected: list[str] = []
        for message in messages:
            if message["role"] == "assistant":
                expected += [*message["content"].split(), "<|end|>"]
        assert tokenizer.convert_ids_to_tokens(masked) == expected
        assert "[UNK]" not in tokenizer.convert_ids_to_tokens(out["input_ids"])
