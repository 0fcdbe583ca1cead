"""Which persona, emotional arc and training topic a conversation was built on, for the v4 layout.

From the imported file when it says so (a v4 block's ``conversation_metadata.scaffolding``, a generated
file's ``input_parameters``, or the v4 keys of the first pair's ``conversation_metadata``); otherwise from
the plan row:

* persona: ``persona_type`` as a key (``Marcus`` -> ``marcus``), ``persona_name`` as the label;
* emotional arc: a Tier 1 row's ``tier_template`` is its arc (``confusion_to_clarity``); Tier 2 and 3
  rows name a category there, so their arc is ``<starting>_to_<ending>`` from the planned emotions;
  the label is "Starting → Ending";
* training topic: ``topic_category`` as label and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .formats.v4 import Scaffolding, Turn, key_of

TIER1 = "tier1_template"


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """The plan row's columns the scaffolding is derived from."""

    persona_type: str
    persona_name: str
    tier: str
    tier_template: str | None
    starting_emotion: str | None
    ending_emotion: str | None
    topic_category: str


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _from_mapping(data: dict[str, Any]) -> Scaffolding | None:
    persona = _text(data.get("persona_key"))
    arc = _text(data.get("emotional_arc_key"))
    topic = _text(data.get("training_topic_key"))
    if not (persona and arc and topic):
        return None
    return Scaffolding(
        persona_key=key_of(persona),
        persona_name=_text(data.get("persona_name")) or persona,
        emotional_arc_key=key_of(arc),
        emotional_arc=_text(data.get("emotional_arc")) or arc,
        training_topic_key=key_of(topic),
        training_topic=_text(data.get("training_topic")) or topic,
    )


def from_file(envelope: dict[str, Any], first_pair: Turn | None) -> Scaffolding | None:
    """The scaffolding the imported file recorded, or None."""
    block = envelope.get("conversation_metadata")
    if isinstance(block, dict) and isinstance(block.get("scaffolding"), dict):
        found = _from_mapping(block["scaffolding"])
        if found:
            return found
    parameters = envelope.get("input_parameters")
    if isinstance(parameters, dict):
        found = _from_mapping(parameters)
        if found:
            return found
    metadata = first_pair.conversation_metadata if first_pair is not None else None
    if metadata is not None:
        return _from_mapping(
            {
                "persona_key": metadata.persona_archetype,
                "persona_name": metadata.client_persona,
                "emotional_arc_key": metadata.emotional_arc_key,
                "emotional_arc": metadata.emotional_arc,
                "training_topic_key": metadata.training_topic_key,
                "training_topic": metadata.training_topic,
            }
        )
    return None


def from_plan(facts: PlanFacts) -> Scaffolding:
    start = facts.starting_emotion or "start"
    end = facts.ending_emotion or "end"
    if facts.tier == TIER1 and facts.tier_template:
        arc_key = key_of(facts.tier_template)
    else:
        arc_key = key_of(f"{start}_to_{end}")
    return Scaffolding(
        persona_key=key_of(facts.persona_type),
        persona_name=facts.persona_name,
        emotional_arc_key=arc_key,
        emotional_arc=f"{start.capitalize()} → {end.capitalize()}",
        training_topic_key=key_of(facts.topic_category),
        training_topic=facts.topic_category,
    )


def scaffolding_of(envelope: dict[str, Any], first_pair: Turn | None, facts: PlanFacts) -> Scaffolding:
    return from_file(envelope, first_pair) or from_plan(facts)
