"""Writing an export folder, its manifest, and the checks that read it back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.helpers.export_factories import export_conversation, make_pairs
from training_data_studio.exports.formats import ExportConversation
from training_data_studio.exports.manifest import (
    MANIFEST_NAME,
    expected_export_id,
    read_manifest,
    sha256_file,
    write_manifest,
)
from training_data_studio.exports.schemas import ExportFormat, ExportOptions
from training_data_studio.exports.service import write_export
from training_data_studio.exports.validate import check_roles, validate_export


def _dataset() -> list[ExportConversation]:
    conversations = []
    number = 0
    for persona, count in (("Marcus", 6), ("Jennifer", 4), ("Mixed", 1)):
        for tier in ("tier1_template", "tier2_scenario"):
            for _ in range(count):
                number += 1
                conversations.append(
                    export_conversation(
                        f"{persona.lower()}_{number:03d}",
                        number=number,
                        persona_type=persona,
                        tier=tier,
                        turns=1 + number % 3,
                        is_seed=number <= 3,
                        generation_model=None if number <= 3 else "claude-test",
                    )
                )
    return conversations


def _options(**changes: object) -> ExportOptions:
    return ExportOptions.model_validate({"format": "chat-jsonl", "seed": 11, "val_fraction": 0.25, **changes})


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.mark.parametrize("export_format", ["chat-jsonl", "sharegpt", "annotated"])
def test_an_export_passes_its_own_checks(tmp_path: Path, export_format: str) -> None:
    manifest = write_export(_dataset(), _options(format=export_format), tmp_path)
    check = validate_export(tmp_path)
    assert check.ok, check.errors
    assert check.records_checked == sum(e.records for e in manifest.files.values())


@pytest.mark.parametrize("export_format", ["chat-jsonl", "sharegpt", "annotated"])
def test_same_selection_and_seed_give_byte_identical_files(tmp_path: Path, export_format: str) -> None:
    first = write_export(_dataset(), _options(format=export_format), tmp_path / "one")
    second = write_export(list(reversed(_dataset())), _options(format=export_format), tmp_path / "two")
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert first.export_id == second.export_id


def test_another_seed_gives_another_split_and_id(tmp_path: Path) -> None:
    first = write_export(_dataset(), _options(seed=1), tmp_path / "one")
    second = write_export(_dataset(), _options(seed=2), tmp_path / "two")
    assert first.splits["validation"].conversation_ids != second.splits["validation"].conversation_ids
    assert first.export_id != second.export_id


def test_split_is_stratified_and_disjoint(tmp_path: Path) -> None:
    manifest = write_export(_dataset(), _options(), tmp_path)
    train, validation = manifest.splits["train"], manifest.splits["validation"]
    assert not set(train.conversation_ids) & set(validation.conversation_ids)
    # Strata of 6 (Marcus) give 2 (6 x 0.25 = 1.5, half up), of 4 (Jennifer) 1, of 1 (Mixed) none.
    assert validation.by_persona == {"Jennifer": 2, "Marcus": 4}
    assert validation.by_tier == {"tier1_template": 3, "tier2_scenario": 3}
    assert train.conversations + validation.conversations == len(_dataset())


def test_manifest_counts_hashes_templates_and_models(tmp_path: Path) -> None:
    conversations = _dataset()
    manifest = write_export(conversations, _options(mode="per-turn"), tmp_path)
    assert set(manifest.files) == {"train.jsonl", "validation.jsonl", "dataset_info.json"}
    for name, entry in manifest.files.items():
        assert entry.sha256 == sha256_file(tmp_path / name)
        assert entry.bytes == (tmp_path / name).stat().st_size
    turns = sum(len(c.pairs) for c in conversations)
    assert manifest.splits["train"].turns + manifest.splits["validation"].turns == turns
    # Per-turn mode: one example per turn.
    assert manifest.splits["train"].examples == manifest.splits["train"].turns
    assert manifest.files["train.jsonl"].records == manifest.splits["train"].examples
    assert [(t.template_id, t.version, t.conversations) for t in manifest.templates] == [
        ("confusion_to_clarity", 1, len(conversations))
    ]
    assert {m.generation_model: m.conversations for m in manifest.generation_models} == {
        None: 3,
        "claude-test": len(conversations) - 3,
    }
    assert manifest.options["mode"] == "per-turn"
    assert read_manifest(tmp_path) == manifest


def test_no_timestamps_and_no_paths_in_the_manifest(tmp_path: Path) -> None:
    write_export(_dataset(), _options(), tmp_path)
    text = (tmp_path / MANIFEST_NAME).read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text)


def test_sharegpt_writes_a_llama_factory_dataset_info(tmp_path: Path) -> None:
    write_export(_dataset(), _options(format="sharegpt", dataset_name="elena"), tmp_path)
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"elena_train", "elena_validation"}
    assert info["elena_train"]["file_name"] == "train.json"
    assert info["elena_validation"]["columns"] == {"messages": "conversations", "system": "system"}


def test_an_empty_validation_split_is_written_but_not_described(tmp_path: Path) -> None:
    manifest = write_export(_dataset(), _options(format="sharegpt", val_fraction=0), tmp_path)
    assert (tmp_path / "validation.json").read_text(encoding="utf-8") == "[]\n"
    assert manifest.files["validation.json"].records == 0
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == ["elena_morales_cfp_train"]
    assert validate_export(tmp_path).ok


def test_annotated_export_has_no_dataset_info(tmp_path: Path) -> None:
    manifest = write_export(_dataset(), _options(format="annotated"), tmp_path)
    assert set(manifest.files) == {"train.json", "validation.json"}


def test_token_budget_check_fails_on_an_over_long_example(tmp_path: Path) -> None:
    pairs = make_pairs("long_001", 1)
    pairs[0]["target_response"] = "word " * 2_000  # 10,000 characters: about 2,500 tokens
    conversations = [*_dataset(), export_conversation("long_001", number=99, pairs=pairs)]
    write_export(conversations, _options(max_tokens=1_000, val_fraction=0), tmp_path)
    check = validate_export(tmp_path)
    assert not check.ok
    assert any("over the budget of 1000" in error for error in check.errors)
    assert check.largest_example_tokens > 2_500
    assert validate_export(tmp_path, max_tokens=5_000).ok


def _rewrite_train(directory: Path, lines: list[dict[str, object]]) -> None:
    """Replace train.jsonl and re-seal the manifest, so only the content check can object."""
    path = directory / "train.jsonl"
    path.write_bytes("".join(json.dumps(line) + "\n" for line in lines).encode())
    manifest = read_manifest(directory)
    files = dict(manifest.files)
    files["train.jsonl"] = files["train.jsonl"].model_copy(
        update={"sha256": sha256_file(path), "bytes": path.stat().st_size, "records": len(lines)}
    )
    resealed = manifest.model_copy(update={"files": files})
    write_manifest(directory, resealed.model_copy(update={"export_id": expected_export_id(resealed)}))


def test_roles_check_fails_on_a_bad_file(tmp_path: Path) -> None:
    write_export(_dataset(), _options(val_fraction=0), tmp_path)
    bad = [
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]},
        {"messages": [{"role": "user", "content": "u"}, {"role": "user", "content": "again"}]},
        {"messages": [{"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "weight": 2}]},
    ]
    _rewrite_train(tmp_path, bad)
    errors = validate_export(tmp_path).errors
    assert any(e.startswith("train.jsonl:1:") and "ends with a user message" in e for e in errors)
    assert any(e.startswith("train.jsonl:2:") and "message 2 has role 'user'" in e for e in errors)
    assert any(e.startswith("train.jsonl:3:") and "message 1 has role 'assistant'" in e for e in errors)
    assert any(e.startswith("train.jsonl:4:") and "weight 2" in e for e in errors)


def test_unparseable_line_is_reported_with_its_number(tmp_path: Path) -> None:
    write_export(_dataset(), _options(val_fraction=0), tmp_path)
    path = tmp_path / "train.jsonl"
    path.write_bytes(path.read_bytes() + b'{"messages": [\n')
    errors = validate_export(tmp_path).errors
    assert any("differs from the manifest" in e for e in errors)
    assert any(e.startswith("train.jsonl:") and "is not valid JSON" in e for e in errors)


def test_an_edited_manifest_is_detected(tmp_path: Path) -> None:
    write_export(_dataset(), _options(), tmp_path)
    path = tmp_path / MANIFEST_NAME
    path.write_text(path.read_text(encoding="utf-8").replace('"seed": 11', '"seed": 12'), encoding="utf-8")
    assert any("export_id does not match" in e for e in validate_export(tmp_path).errors)


def test_a_missing_manifest_is_an_error(tmp_path: Path) -> None:
    check = validate_export(tmp_path)
    assert not check.ok
    assert check.errors[0].startswith("manifest.json: cannot be read")


def test_check_roles() -> None:
    assert check_roles(["system", "user", "assistant", "user", "assistant"]) is None
    assert check_roles(["user", "assistant"]) is None
    assert check_roles(["human", "gpt"], user="human", assistant="gpt") is None
    assert check_roles(["system"]) == "has no user / assistant messages"
    assert check_roles(["user", "assistant", "system", "assistant"]) is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "csv"}, "Input should be 'chat-jsonl', 'sharegpt' or 'annotated'"),
        ({"weights": "all", "format": "sharegpt"}, "weights apply to the chat-jsonl format only"),
        ({"mode": "per-turn", "format": "annotated"}, "always one record per conversation"),
        ({"statuses": ["done"]}, "unknown status done"),
        ({"tiers": ["tier9"]}, "unknown tier tier9"),
        ({"val_fraction": 1.0}, "less than 1"),
    ],
)
def test_bad_options_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _options(**changes)


def test_option_lists_are_normalised() -> None:
    options = _options(statuses=["reviewed", "approved", "approved"], personas=["Marcus", "David"])
    assert options.statuses == ["approved", "reviewed"]
    assert options.personas == ["David", "Marcus"]
    assert ExportOptions(format=ExportFormat.CHAT_JSONL).statuses == ["approved"]
