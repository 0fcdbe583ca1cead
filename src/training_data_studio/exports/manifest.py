"""The manifest of an export: what was selected and how, what each split holds, a sha256 per file, and
the export's identity.

An export is an immutable snapshot: the same selection and options give byte-identical files and the
same manifest. So nothing here depends on time or on where the export was written: no timestamps, no
paths, sorted keys and lists. ``export_id`` is the sha256 of the manifest's canonical JSON without the
id itself; as the manifest holds every file's sha256, equal ids mean equal exports.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from .formats import TOKEN_ESTIMATE_METHOD, ExportConversation
from .schemas import (
    CleaningReport,
    ExportFormat,
    ExportManifest,
    FileEntry,
    ModelUse,
    SplitCounts,
    TemplateUse,
    TokenBudget,
)

MANIFEST_NAME = "manifest.json"


def tool_name() -> str:
    try:
        return f"training-data-studio {metadata.version('training-data-studio')}"
    except metadata.PackageNotFoundError:
        return "training-data-studio"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(path: Path, records: int) -> FileEntry:
    return FileEntry(sha256=sha256_file(path), bytes=path.stat().st_size, records=records)


def split_counts(conversations: list[ExportConversation], examples: int) -> SplitCounts:
    return SplitCounts(
        conversations=len(conversations),
        examples=examples,
        turns=sum(len(c.pairs) for c in conversations),
        by_persona=dict(sorted(Counter(c.persona_type for c in conversations).items())),
        by_tier=dict(sorted(Counter(c.tier for c in conversations).items())),
        conversation_ids=sorted(c.conversation_id for c in conversations),
    )


def template_uses(conversations: list[ExportConversation]) -> list[TemplateUse]:
    counts = Counter((c.template_id, c.template_version) for c in conversations)
    return [
        TemplateUse(template_id=template_id, version=version, conversations=n)
        for (template_id, version), n in sorted(counts.items(), key=lambda item: (item[0][0] or "", item[0][1] or 0))
    ]


def model_uses(conversations: list[ExportConversation]) -> list[ModelUse]:
    counts = Counter(c.generation_model for c in conversations)
    return [
        ModelUse(generation_model=model, conversations=n)
        for model, n in sorted(counts.items(), key=lambda item: item[0] or "")
    ]


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def build_manifest(
    *,
    export_format: ExportFormat,
    options: dict[str, Any],
    files: dict[str, FileEntry],
    splits: dict[str, SplitCounts],
    conversations: list[ExportConversation],
    max_tokens: int,
    largest_example: int,
    cleaning: CleaningReport | None = None,
) -> ExportManifest:
    draft = ExportManifest(
        export_id="",
        tool=tool_name(),
        format=export_format,
        options=options,
        files=dict(sorted(files.items())),
        splits=splits,
        templates=template_uses(conversations),
        generation_models=model_uses(conversations),
        tokens=TokenBudget(method=TOKEN_ESTIMATE_METHOD, max_tokens=max_tokens, largest_example=largest_example),
        cleaning=cleaning,
    )
    return draft.model_copy(update={"export_id": expected_export_id(draft)})


def manifest_text(manifest: ExportManifest) -> str:
    return canonical_json(manifest.model_dump(mode="json"))


def write_manifest(directory: Path, manifest: ExportManifest) -> Path:
    path = directory / MANIFEST_NAME
    path.write_bytes(manifest_text(manifest).encode("utf-8"))
    return path


def read_manifest(directory: Path) -> ExportManifest:
    return ExportManifest.model_validate_json((directory / MANIFEST_NAME).read_bytes())


def expected_export_id(manifest: ExportManifest) -> str:
    """The sha256 of the manifest's content without its id (also the check that nobody edited it)."""
    body = manifest.model_dump(mode="json", exclude={"export_id"})
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
