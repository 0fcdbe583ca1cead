"""`tds db seed`: the shipped default data, loaded idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..imports.parsing import SeedSource, parse_source
from ..imports.schemas import ImportOptions
from ..imports.service import import_sources
from ..models import TrainingConversation
from . import service
from .service import SAMPLES_DIR


@dataclass
class SeedSummary:
    templates_added: int = 0
    plan_rows_added: int = 0
    samples_imported: int = 0
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.skipped:
            return "database already has data: default data not loaded"
        parts = [
            f"{self.templates_added} templates",
            f"{self.plan_rows_added} planned conversations",
            f"{self.samples_imported} sample seed conversations",
        ]
        return "seeded " + ", ".join(parts) + "".join(f"\n{n}" for n in self.notes)


def seed_default_data(session: Session, *, user: str, only_if_empty: bool = False) -> SeedSummary:
    if only_if_empty and service.conversation_count(session) > 0:
        return SeedSummary(skipped=True)
    summary = SeedSummary()
    summary.templates_added = service.load_templates(session, service.read_templates(), user=user)
    summary.plan_rows_added = service.load_plan(session, service.read_plan(), user=user)
    summary.samples_imported = import_samples(session, user=user, notes=summary.notes)
    return summary


def import_samples(session: Session, *, user: str, notes: list[str] | None = None) -> int:
    """Import data/samples/*.json whose conversations are not in the database yet (after the plan, so they
    are numbered 101, 102, ...). Samples already present are skipped silently and no import run is
    recorded when there is nothing to import, so seeding twice changes nothing."""
    sources = [
        SeedSource.from_path(path, name=f"data/samples/{path.name}") for path in sorted(SAMPLES_DIR.glob("*.json"))
    ]
    wanted: dict[str, SeedSource] = {}
    for source in sources:
        parsed = parse_source(source)
        for doc in parsed.docs:
            wanted.setdefault(doc.conversation_id, source)
        if not parsed.ok and notes is not None:
            notes.extend(f"sample not imported: {problem.text}" for problem in parsed.errors)
    if not wanted:
        return 0
    present = set(
        session.scalars(
            select(TrainingConversation.conversation_id).where(TrainingConversation.conversation_id.in_(wanted))
        )
    )
    pending = list({id(src): src for cid, src in wanted.items() if cid not in present}.values())
    if not pending:
        return 0
    summary = import_sources(session=session, inputs=pending, user=user, options=ImportOptions(source="seed"))
    if notes is not None:
        notes.extend(f"sample not imported: {problem.text}" for report in summary.files for problem in report.errors)
    return summary.totals.conversations
