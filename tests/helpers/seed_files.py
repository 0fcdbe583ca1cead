"""Seed files on disk for import tests, row counts for before/after comparisons, and the real upstream files
(read in place through the `upstream_seeds` fixture, never copied)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.helpers.documents import make_conversation, make_single_file
from training_data_studio.plan import service as plan_service

# Every table an import writes to (or that a rollback must leave as it found it).
IMPORT_TABLES = (
    "training_conversations",
    "training_turns",
    "emotional_context",
    "response_strategies",
    "response_breakdowns",
    "quality_metrics",
    "import_runs",
    "import_run_items",
)

UPSTREAM_GOOD = tuple(f"c-alpha-build_v3.4-LoRA-FP-convo-{n:02d}-complete.json" for n in range(1, 10))
UPSTREAM_BROKEN = "c-alpha-build_v3.4-LoRA-FP-convo-10-complete.json"
# Conversation ids of files 01-09, in file order: they are plan rows 1-9.
UPSTREAM_IDS = (
    "fp_marcus_002",
    "fp_marcus_003",
    "fp_marcus_004",
    "fp_marcus_005",
    "fp_marcus_006",
    "fp_jennifer_001",
    "fp_jennifer_002",
    "fp_jennifer_003",
    "fp_david_001",
)


def upstream_good_files(folder: Path) -> list[Path]:
    return [folder / name for name in UPSTREAM_GOOD]


def write_json(folder: Path, name: str, document: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def write_text(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def good_seed(conversation_id: str = "test_conv_001", turns: int = 2) -> dict[str, Any]:
    return make_single_file(make_conversation(conversation_id, turns))


def table_counts(session: Session) -> dict[str, int]:
    return {table: int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()) for table in IMPORT_TABLES}


def load_plan(session: Session) -> None:
    plan_service.load_templates(session, plan_service.read_templates(), user="dana")
    plan_service.load_plan(session, plan_service.read_plan(), user="dana")
    session.flush()
