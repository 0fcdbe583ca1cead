"""Answers of the fake Anthropic server for the quality judge: a judgement built from the request."""

from __future__ import annotations

import re
from typing import Any

JUDGE_SCHEMA_TITLE = "QualityJudgement"
_CONVERSATION = re.compile(r"CONVERSATION (\S+)")


def _judge_request(params: dict[str, Any]) -> tuple[str, str] | None:
    """(conversation id, transcript) when the request is the judge's, else None."""
    tools = params.get("tools") or []
    if not tools or tools[0].get("input_schema", {}).get("title") != JUDGE_SCHEMA_TITLE:
        return None
    transcript = params["system"][1]["text"]
    found = _CONVERSATION.search(transcript)
    return (found.group(1) if found else "unknown"), transcript


def judgement_from_request(params: dict[str, Any]) -> dict[str, Any] | None:
    """Scores read off the transcript: empathy 5 when a reply says "I can hear", else 3; the rest fixed."""
    request = _judge_request(params)
    if request is None:
        return None
    conversation_id, transcript = request
    turns = transcript.count("\nTurn ")
    empathy = 5 if "I can hear" in transcript else 3
    return {
        "empathy": empathy,
        "empathy_reason": f"{conversation_id}: turn 1 names the feeling first ({turns} turns read).",
        "clarity": 4,
        "clarity_reason": "Turn 2 explains interest in plain words with the client's own figures.",
        "appropriateness": 5,
        "appropriateness_reason": "Every turn asks before teaching and stays within scope.",
        "brand_voice": 4,
        "brand_voice_reason": "Warm and judgment-free; turn 3 could celebrate the small win more.",
    }


def bad_judgement(params: dict[str, Any]) -> dict[str, Any] | None:
    """A judgement outside the rubric: a score of 9 and a missing reason."""
    good = judgement_from_request(params)
    if good is None:
        return None
    good["empathy"] = 9
    del good["clarity_reason"]
    return good
