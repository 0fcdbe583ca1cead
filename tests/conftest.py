from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.helpers.databases import (
    PgServer,
    cloned_database,
    embedded_server,
    external_server,
    migrated_template,
)
from training_data_studio.core.db import Database, DatabaseTarget

REPO_ROOT = Path(__file__).resolve().parents[1]

# Starlette's test client sends `Host: testserver`; the app answers only to its configured host names, so
# the suite configures this one the way a user adds a name (tests of the host guard set their own list).
os.environ.setdefault("TDS_ALLOWED_HOSTS", "testserver")


def _upstream_seeds_dir() -> Path:
    override = os.environ.get("TDS_UPSTREAM_SEEDS")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "upstream-seeds"


@pytest.fixture(scope="session")
def upstream_seeds() -> Path:
    """The user's real seed files, read in place (never copied into the project)."""
    folder = _upstream_seeds_dir()
    if not folder.is_dir():
        pytest.skip(f"upstream seed files not found at {folder} (set TDS_UPSTREAM_SEEDS): skipping")
    return folder


@pytest.fixture(scope="session")
def embedded_test_server(tmp_path_factory: pytest.TempPathFactory) -> PgServer:
    return embedded_server(tmp_path_factory.mktemp("embedded") / "postgres")


def _server_params() -> list[str]:
    return ["embedded", "server"]


@pytest.fixture(scope="session", params=_server_params())
def test_server(request: pytest.FixtureRequest, embedded_test_server: PgServer) -> PgServer:
    if request.param == "embedded":
        return embedded_test_server
    server = external_server()
    if server is None:
        pytest.skip("TEST_DATABASE_URL is not set: server mode not tested here")
    return server


@pytest.fixture(scope="session")
def template_database(test_server: PgServer) -> Iterator[str]:
    name = migrated_template(test_server)
    yield name
    test_server.drop_database(name)


@pytest.fixture
def db_target(test_server: PgServer, template_database: str) -> Iterator[DatabaseTarget]:
    with cloned_database(test_server, template_database) as target:
        yield target


@pytest.fixture
def database(db_target: DatabaseTarget) -> Iterator[Database]:
    db = Database(db_target, pool_size=2)
    yield db
    db.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session_scope() as s:
        yield s
