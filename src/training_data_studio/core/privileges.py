"""Step out of a signed-in user's database role for work that belongs to the app, not to the user.

In sign-in mode a request's transaction runs as the token's API role, so the row-level-security policies
decide what the user may read and write. The job queue's tables (Procrastinate's) are the app's own: the
API roles have, and must have, no grant on them, or any signed-in user could edit or drop anyone's queued
work. Deferring a task inside the request's transaction (so it reaches a worker only with its rows) is
therefore done as the connecting role, then the transaction goes back to the user's role.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from .db import API_ROLES


@contextmanager
def app_privileges(session: Session) -> Iterator[None]:
    """Run the block as the session's login role; afterwards the transaction is back in the API role it
    was in. (On an error the transaction is rolled back, which ends the SET LOCAL anyway.)"""
    role = session.execute(text("SELECT current_user")).scalar_one()
    if role not in API_ROLES:  # already the app's own role (no sign-in, the CLI, a worker)
        yield
        return
    session.execute(text("SET LOCAL ROLE NONE"))
    yield
    # Only the literals of API_ROLES are ever spliced in: SET ROLE takes no parameter.
    session.execute(text(f"SET LOCAL ROLE {API_ROLES[API_ROLES.index(role)]}"))
