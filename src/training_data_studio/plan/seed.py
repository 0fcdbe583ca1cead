"""`tds db seed`: the shipped default data, loaded idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from . import service


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
    return summary
