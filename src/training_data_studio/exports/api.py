"""JSON routes of the training-set export: run an export into the server-side store, read its manifest,
download its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from ..core.deps import SessionDep, UserDep
from . import service
from .schemas import ExportManifest, ExportOptions, ExportRead

router = APIRouter(prefix="/api/train-data/exports", tags=["exports"])

MEDIA_TYPES = {".jsonl": "application/jsonl", ".json": "application/json"}


def get_exports_root(request: Request) -> Path:
    """Where exports are stored: ``app.state.exports_dir`` when set, else ./.data/exports."""
    root: Path = getattr(request.app.state, "exports_dir", service.DEFAULT_EXPORTS_DIR)
    return root


ExportsRootDep = Annotated[Path, Depends(get_exports_root)]


def export_read(result: service.ExportResult) -> ExportRead:
    folder = result.directory.name
    downloads = {
        name: f"/api/train-data/exports/{folder}/files/{name}"
        for name in [*result.manifest.files, service.MANIFEST_NAME]
    }
    return ExportRead(
        export_id=result.manifest.export_id,
        folder=folder,
        manifest=result.manifest,
        check=result.check,
        downloads=downloads,
    )


@router.post("", response_model=ExportRead, status_code=201)
def create_export(options: ExportOptions, session: SessionDep, user: UserDep, root: ExportsRootDep) -> ExportRead:
    """Export the selected conversations as a checked, immutable snapshot and return its manifest."""
    return export_read(service.export_to_store(session=session, options=options, root=root))


@router.get("/{export_id}", response_model=ExportManifest)
def read_export(export_id: str, user: UserDep, root: ExportsRootDep) -> ExportManifest:
    """The manifest of a stored export."""
    _, manifest = service.stored_export(root, export_id)
    return manifest


@router.get("/{export_id}/files/{name}")
def download_export_file(export_id: str, name: str, user: UserDep, root: ExportsRootDep) -> FileResponse:
    """Download one file of a stored export (only the files its manifest lists)."""
    path = service.stored_file(root, export_id, name)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"), filename=name)
