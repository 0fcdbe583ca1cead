"""FastAPI dependencies, declared once as Annotated aliases: `SessionDep`, `UserDep`, `SettingsDep`, `DbDep`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .auth import CurrentUser, authenticate
from .config import Settings
from .db import Database, act_as


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DbDep = Annotated[Database, Depends(get_database)]


def get_current_user(request: Request, settings: SettingsDep) -> CurrentUser:
    return authenticate(request, settings)


UserDep = Annotated[CurrentUser, Depends(get_current_user)]


def get_session(database: DbDep, user: UserDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on any error."""
    with database.session_scope() as session:
        if user.role is not None:
            act_as(session, role=user.role, user_id=user.id, claims=user.claims)
        yield session


# scope="function": the transaction commits before the response is sent, so a client told "created" can
# read what was created.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
