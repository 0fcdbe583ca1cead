"""JSON routes of training files: create, list, read, add, remove, and download a version's files.

Downloads go through the app with the caller's authorisation (and, with auth on, under row-level
security); the storage is never exposed by a public or pre-signed link.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ..core.deps import SessionDep, UserDep
from . import service
from .schemas import MembershipChange, TrainingFileCreate, TrainingFileDetail, TrainingFileRead, VersionRead
from .storage import Storage, storage_from_settings

router = APIRouter(prefix="/api/train-data/training-files", tags=["training-files"])


def get_storage(request: Request) -> Storage:
    """The app's training file storage, made from the settings on first use."""
    storage: Storage | None = getattr(request.app.state, "training_file_storage", None)
    if storage is None:
        storage = storage_from_settings(request.app.state.settings)
        request.app.state.training_file_storage = storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]
# Postgres integers: a larger number is no version of anything (404 rather than an overflow).
VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("", response_model=TrainingFileDetail, status_code=201)
def create_training_file(
    body: TrainingFileCreate, session: SessionDep, user: UserDep, storage: StorageDep
) -> TrainingFileDetail:
    """Create a named training file from a selection and write its first version."""
    return service.create_training_file(session=session, data=body, user=user.id, storage=storage)


@router.get("", response_model=list[TrainingFileRead])
def list_training_files(session: SessionDep, user: UserDep) -> list[TrainingFileRead]:
    """Every training file, the most recently changed first."""
    return service.list_training_files(session=session)


@router.get("/{ident}", response_model=TrainingFileDetail)
def read_training_file(ident: str, session: SessionDep, user: UserDep) -> TrainingFileDetail:
    """One training file (by id or name): its members and every version."""
    return service.get_training_file(session=session, ident=ident)


@router.post("/{ident}/add", response_model=VersionRead, status_code=201)
def add_conversations(
    ident: str, body: MembershipChange, session: SessionDep, user: UserDep, storage: StorageDep
) -> VersionRead:
    """Add the selected conversations; returns the new version."""
    return service.add_conversations(session=session, ident=ident, change=body, user=user.id, storage=storage)


@router.post("/{ident}/remove", response_model=VersionRead, status_code=201)
def remove_conversations(
    ident: str, body: MembershipChange, session: SessionDep, user: UserDep, storage: StorageDep
) -> VersionRead:
    """Remove the selected conversations; returns the new version."""
    return service.remove_conversations(session=session, ident=ident, change=body, user=user.id, storage=storage)


@router.get("/{ident}/versions/{version}/files/{name}")
def download_file(
    ident: str, version: VersionNumber, name: str, session: SessionDep, user: UserDep, storage: StorageDep
) -> Response:
    """Download one file of one version (v4 JSON or JSONL, chat JSONL, ShareGPT)."""
    found = service.download(session=session, ident=ident, version=version, name=name, storage=storage)
    return Response(
        found.data,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.name}"', "Cache-Control": "private, no-store"},
    )
