"""`tds bench training-file`: a training file of 1,000 conversations, from the database to stored files.

Setup (not timed): a fresh database gets 1,000 conversations made from the shipped sample seeds (each
sample's turns under a new id, cycling through the samples), with their turns' full source JSON as the
importer stores it. Timed: ``create_training_file`` in one transaction, i.e. select the conversations, load
and parse their turns, build the v4 document, validate it against the v4 schema, render v4 JSON, v4
JSONL, chat JSONL and ShareGPT, and write them to folder storage. The timed part runs in a fresh process
(spawned), whose peak resident memory is reported: the memory creating the file takes, interpreter and
imports included, without the setup's.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import make_url

from ..core.config import Settings
from ..core.db import Database, DatabaseTarget
from ..core.migrate import migrate
from ..models import TrainingConversation, TrainingTurn
from ..training_files import service
from ..training_files.schemas import Selection, TrainingFileCreate
from ..training_files.storage import FolderStorage
from .common import DOCS_FILE, append_section, fresh_database, machine_line, server_version

SAMPLES_DIR = Path(__file__).resolve().parents[3] / "data" / "samples"
DEFAULT_CONVERSATIONS = 1_000
TARGET_SECONDS = 10.0
TARGET_MB = 500.0


@dataclass(frozen=True)
class TrainingFileBenchResult:
    conversations: int
    pairs: int
    seconds: float
    peak_rss_mb: float
    bytes_written: dict[str, int]
    machine: str
    mode: str
    load_average: float  # 1-minute load when the run ended: the machine is shared, so it says how busy it was

    @property
    def met_target(self) -> bool:
        return self.seconds < TARGET_SECONDS and self.peak_rss_mb < TARGET_MB

    def describe(self) -> str:
        sizes = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in self.bytes_written.items())
        return (
            f"{self.conversations:,} conversations ({self.pairs:,} pairs) built, validated and written in "
            f"{self.seconds:.2f} s, peak RSS {self.peak_rss_mb:.0f} MB ({self.mode} database); {sizes}"
        )


def _samples() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SAMPLES_DIR.glob("*.json"))]


def _rows(count: int) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    samples = _samples()
    conversations, turns = [], []
    for number in range(1, count + 1):
        sample = samples[number % len(samples)]
        ident = f"bench_tf_{number:05d}"
        envelope = {k: v for k, v in sample.items() if k != "training_pairs"}
        pairs = []
        for pair in sample["training_pairs"]:
            copy = json.loads(json.dumps(pair))
            copy["id"] = f"{ident}_turn{copy['turn_number']}"
            copy["conversation_id"] = ident
            pairs.append(copy)
        conversations.append(
            {
                "conversation_id": ident,
                "conversation_number": number,
                "persona_type": ("Marcus", "Jennifer", "David")[number % 3],
                "persona_name": "Bench Client",
                "topic_category": f"Bench topic {number % 12}",
                "tier": "tier1_template",
                "tier_template": "confusion_to_clarity",
                "starting_emotion": "Overwhelm",
                "ending_emotion": "Confidence",
                "generation_status": "approved",
                "turn_count": len(pairs),
                "source_envelope": envelope,
            }
        )
        turns.append(pairs)
    return conversations, turns


def _load(database: Database, count: int) -> None:
    conversations, turns = _rows(count)
    with database.session_scope() as session:
        ids = session.execute(insert(TrainingConversation).returning(TrainingConversation.id), conversations).scalars()
        rows = [
            {
                "turn_id": pair["id"],
                "conversation_id": row_id,
                "turn_number": pair["turn_number"],
                "system_prompt": pair["system_prompt"],
                "user_input": pair["current_user_input"],
                "target_response": pair["target_response"],
                "source_json": pair,
            }
            for row_id, pairs in zip(list(ids), turns, strict=True)
            for pair in pairs
        ]
        session.execute(insert(TrainingTurn), rows)


def _timed_create(url: str, mode: str, folder: str) -> tuple[float, float, dict[str, Any]]:
    """In a fresh process: create the training file; its seconds, peak RSS (MB) and first version."""
    target = DatabaseTarget(mode, make_url(url))  # type: ignore[arg-type]
    database = Database(target, pool_size=1)
    try:
        data = TrainingFileCreate(name="bench", selection=Selection(statuses=["approved"]))
        started = time.perf_counter()
        with database.session_scope() as session:
            detail = service.create_training_file(
                session=session, data=data, user="bench", storage=FolderStorage(Path(folder))
            )
        seconds = time.perf_counter() - started
    finally:
        database.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return seconds, peak, detail.versions[0].model_dump(mode="json")


def run_training_file_bench(settings: Settings, conversations: int = DEFAULT_CONVERSATIONS) -> TrainingFileBenchResult:
    with fresh_database(settings, prefix="tds_bench_tf") as target:
        migrate(target.conninfo)
        database = Database(target, pool_size=2)
        try:
            _load(database, conversations)
        finally:
            database.dispose()
        url = target.url.render_as_string(hide_password=False)
        # The timed part runs in a process of its own, so its peak memory is its own and not the setup's.
        with (
            tempfile.TemporaryDirectory(prefix="tds-bench-tf-") as folder,
            ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool,
        ):
            seconds, peak, version = pool.submit(_timed_create, url, target.mode, folder).result()
        return TrainingFileBenchResult(
            conversations=version["conversation_count"],
            pairs=version["pair_count"],
            seconds=seconds,
            peak_rss_mb=peak,
            bytes_written={f["name"]: f["bytes"] for f in version["files"]},
            machine=machine_line(server_version(target.conninfo)),
            mode=target.mode,
            load_average=os.getloadavg()[0],
        )


def append_to_docs(result: TrainingFileBenchResult, path: Path = DOCS_FILE) -> Path:
    verdict = "met" if result.met_target else "NOT met"
    body = (
        f"Machine: {result.machine}\n\n"
        f"- {result.describe()}\n"
        f"- Timed: create_training_file in one transaction (select, read the turns, build, validate with "
        f"jsonschema, render four files, store them in a folder), in a fresh process; 1-minute load average "
        f"at the end {result.load_average:.1f}.\n"
        f"- Target: under {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB: {verdict}.\n"
    )
    return append_section("Training file (`tds bench training-file`)", body, path)
