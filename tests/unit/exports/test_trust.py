"""An export a trainer can trust: duplicates dropped, near-duplicates split together, seed copies left out."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.helpers.export_factories import export_conversation, make_pairs
from training_data_studio.exports.dedup import clean, dialogue_key, longest_shared_run
from training_data_studio.exports.formats import ExportConversation
from training_data_studio.exports.schemas import ExportOptions
from training_data_studio.exports.service import write_export
from training_data_studio.exports.validate import validate_export
from training_data_studio.quality.duplicates import find_near_duplicates

PERSONAS = ("Marcus", "Jennifer", "David", "Mixed")
TIERS = ("tier1_template", "tier2_scenario")
WORDS = [f"term{n}" for n in range(2000)]


def _relabelled(base: ExportConversation, ident: str, number: int, *, tweak: int | None = None) -> ExportConversation:
    """A copy of ``base`` under another id, persona and tier; with ``tweak``, one word of each reply changed."""
    pairs = []
    for pair in base.pairs:
        data = pair.to_json_dict()
        data["id"] = f"{ident}_turn{data['turn_number']}"
        data["conversation_id"] = ident
        if tweak is not None:
            words = data["target_response"].split()
            words[tweak % len(words)] = f"changed{tweak}"
            data["target_response"] = " ".join(words)
        pairs.append(data)
    return export_conversation(
        ident,
        number=number,
        persona_type=PERSONAS[number % 4],
        tier=TIERS[number % 2],
        status="generated",
        pairs=pairs,
    )


def _bases() -> list[ExportConversation]:
    bases = []
    for index in range(3):
        rng = random.Random(index)
        pairs = make_pairs(f"base_{index}", 3)
        for pair in pairs:
            pair["current_user_input"] = " ".join(rng.choices(WORDS, k=40))
            pair["target_response"] = " ".join(rng.choices(WORDS, k=120))
        bases.append(export_conversation(f"base_{index}", number=index + 1, pairs=pairs, status="generated"))
    return bases


def _options(**changes: object) -> ExportOptions:
    return ExportOptions.model_validate({"format": "chat-jsonl", "seed": 7, "val_fraction": 0.2, **changes})


def _dialogues(directory: Path, name: str) -> set[str]:
    records = [json.loads(line) for line in (directory / name).read_text().splitlines()]
    return {"\n".join(m["content"] for m in r["messages"] if m["role"] != "system") for r in records}


def test_eighty_relabelled_copies_of_three_keep_three_and_never_straddle(tmp_path: Path) -> None:
    """The issue's scenario: 80 generated conversations that are relabelled copies of 3."""
    bases = _bases()
    copies = [_relabelled(bases[n % 3], f"gen_{n:03d}", 10 + n) for n in range(77)]
    manifest = write_export([*bases, *copies], _options(), tmp_path)
    assert validate_export(tmp_path).ok
    cleaning = manifest.cleaning
    assert cleaning is not None
    assert (cleaning.conversations_selected, cleaning.deduplicated, cleaning.excluded) == (80, 77, 0)
    assert {e.reason for e in cleaning.exclusions} == {"exact_duplicate"}
    assert len(cleaning.exclusions) == 77
    kept = manifest.splits["train"].conversation_ids + manifest.splits["validation"].conversation_ids
    assert sorted(kept) == ["base_0", "base_1", "base_2"]
    assert not _dialogues(tmp_path, "train.jsonl") & _dialogues(tmp_path, "validation.jsonl")
    assert sum(entry.deduplicated for entry in manifest.files.values()) == 77


def test_near_duplicate_copies_are_grouped_and_split_together(tmp_path: Path) -> None:
    bases = _bases()
    copies = [_relabelled(bases[n % 3], f"gen_{n:03d}", 10 + n, tweak=n) for n in range(77)]
    everything = [*bases, *copies]
    assert len({dialogue_key(c) for c in everything}) == 80  # no exact duplicates: only near ones
    manifest = write_export(everything, _options(), tmp_path / "one")
    cleaning = manifest.cleaning
    assert cleaning is not None
    assert (cleaning.deduplicated, cleaning.near_duplicate_groups, cleaning.merged) == (0, 3, 80)
    train = set(manifest.splits["train"].conversation_ids)
    validation = set(manifest.splits["validation"].conversation_ids)
    assert validation, "some group should go to validation at fraction 0.2"
    texts = [
        (c.conversation_id, "\n".join(p.current_user_input + "\n" + p.target_response for p in c.pairs))
        for c in everything
    ]
    for pair in find_near_duplicates(texts):
        assert (pair.first_id in train) == (pair.second_id in train), f"{pair} straddles the split"
    again = write_export(list(reversed(everything)), _options(), tmp_path / "two")
    assert again.export_id == manifest.export_id


def test_without_near_duplicates_the_split_is_still_stratified(tmp_path: Path) -> None:
    conversations = [
        export_conversation(f"c_{n:03d}", number=n, persona_type=PERSONAS[n % 2], tier="tier1_template")
        for n in range(1, 21)
    ]
    manifest = write_export(conversations, _options(val_fraction=0.2), tmp_path)
    assert manifest.cleaning is not None
    assert manifest.cleaning.merged == 0
    assert manifest.splits["validation"].by_persona == {"Jennifer": 2, "Marcus": 2}


def _seed_and_copy(run_words: int) -> tuple[ExportConversation, ExportConversation]:
    rng = random.Random(99)
    seed_pairs = make_pairs("seed_001", 2)
    for pair in seed_pairs:
        pair["target_response"] = " ".join(rng.choices(WORDS, k=150))
    generated = make_pairs("gen_001", 2)
    lifted = seed_pairs[1]["target_response"].split()[10 : 10 + run_words]
    generated[0]["target_response"] = " ".join([*rng.choices(WORDS, k=20), *lifted, *rng.choices(WORDS, k=20)])
    for pair in generated[1:]:
        pair["target_response"] = " ".join(rng.choices(WORDS, k=80))
    seed = export_conversation("seed_001", number=1, is_seed=True, pairs=seed_pairs)
    return seed, export_conversation("gen_001", number=2, status="generated", pairs=generated)


def _text(conversation: ExportConversation) -> str:
    return "\n".join(p.current_user_input + "\n" + p.target_response for p in conversation.pairs)


def test_a_generated_conversation_that_copies_its_seed_is_excluded_unless_asked(tmp_path: Path) -> None:
    seed, copy = _seed_and_copy(45)
    seeds = {"seed_001": _text(seed)}
    cleaned = clean([seed, copy], seed_texts=seeds, sources={"gen_001": ["seed_001"]})
    assert [c.conversation_id for c in cleaned.kept] == ["seed_001"]
    assert [(e.conversation_id, e.reason) for e in cleaned.exclusions] == [("gen_001", "copies_seed")]
    assert "45 words with seed seed_001" in cleaned.exclusions[0].detail
    assert [c.conversation_id for c in clean([seed, copy], seed_texts=seeds, allow_seed_copies=True).kept] == [
        "seed_001",
        "gen_001",
    ]
    manifest = write_export([seed, copy], _options(val_fraction=0), tmp_path, seed_texts=seeds)
    assert manifest.cleaning is not None
    assert manifest.cleaning.excluded == 1
    assert manifest.files["train.jsonl"].excluded == 1


def test_shared_phrases_below_the_run_length_are_not_copies() -> None:
    seed, copy = _seed_and_copy(20)
    assert longest_shared_run(_text(copy), _text(seed)) == 0
    assert clean([seed, copy], seed_texts={"seed_001": _text(seed)}).exclusions == []
