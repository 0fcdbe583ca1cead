"""Scaffolding for the v4 layout: from what the imported file recorded, else from the plan row."""

from __future__ import annotations

from tests.helpers.training_files import v4_pairs
from training_data_studio.conversations.document import TrainingPair
from training_data_studio.exports.scaffolding import PlanFacts, from_file, from_plan, scaffolding_of

TIER2 = PlanFacts("Mixed", "Scenario client", "tier2_scenario", "life_transition", "Grief", "Hope", "Widowed at 40")
TIER1 = PlanFacts("Marcus", "Marcus Thompson", "tier1_template", "confusion_to_clarity", "Overwhelm", "Calm", "RSUs")


def _pair(**metadata: str) -> TrainingPair:
    pair = v4_pairs("c_001", 1)[0]
    pair["conversation_metadata"] = {**pair["conversation_metadata"], **metadata}
    return TrainingPair.model_validate(pair)


def test_the_plan_row_gives_keys_for_every_tier() -> None:
    tier1 = from_plan(TIER1)
    assert (tier1.persona_key, tier1.emotional_arc_key, tier1.training_topic_key) == (
        "marcus",
        "confusion_to_clarity",
        "rsus",
    )
    tier2 = from_plan(TIER2)
    assert tier2.emotional_arc_key == "grief_to_hope"  # a Tier 2 template names a category, not an arc
    assert tier2.emotional_arc == "Grief → Hope"
    assert tier2.training_topic_key == "widowed_at_40"


def test_the_imported_file_wins_in_each_of_its_forms() -> None:
    keys = {"persona_key": "anxious_planner", "emotional_arc_key": "fear_to_confidence", "training_topic_key": "t1"}
    block = {"conversation_metadata": {"scaffolding": keys}}
    assert scaffolding_of(block, None, TIER1).persona_key == "anxious_planner"
    generated = {"input_parameters": {**keys, "persona_key": "pragmatic_optimist"}}
    assert scaffolding_of(generated, None, TIER1).persona_key == "pragmatic_optimist"
    pair = _pair(
        persona_archetype="overwhelmed_avoider",
        emotional_arc_key="shame_to_acceptance",
        training_topic_key="hiding_debt",
        training_topic="Hiding debt",
    )
    found = scaffolding_of({}, pair, TIER1)
    assert (found.persona_key, found.emotional_arc_key, found.training_topic) == (
        "overwhelmed_avoider",
        "shame_to_acceptance",
        "Hiding debt",
    )


def test_incomplete_file_scaffolding_falls_back_to_the_plan() -> None:
    assert (
        from_file(
            {"conversation_metadata": {"scaffolding": {"persona_key": "x"}}},
            _pair(),
        )
        is None
    )
    assert scaffolding_of({"input_parameters": {"persona_key": "x"}}, _pair(), TIER1).persona_key == "marcus"
