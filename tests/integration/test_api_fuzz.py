"""Fuzz the JSON API from its own OpenAPI document with schemathesis: whatever a client sends, no route may
answer with a server error (5xx).

One throwaway database (cloned from the migrated template, with the shipped plan loaded) serves the whole
module; the app runs in-process over ASGI. The schema is read at import time, when pytest collects one test
per operation, from an app built without a database; the calls then go through a small ASGI relay to the app
the module's fixture builds on its database (schemathesis' lazy `from_fixture` loader does not work with
pytest 9). Both auth modes are fuzzed: without sign-in, and with SUPABASE_JWT_SECRET set and a valid token
sent on every call (work then runs under row-level security). Every operation is exercised, writes
included: on a throwaway database they are safe. Generation is configured with a dummy key, so starting a
job creates it and queues its tasks in Procrastinate, where no worker ever runs them. Exports and training
files go to temporary folders. The two server-sent-event streams are left out: they never end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from sqlalchemy import update

from tests.helpers.browser import JWT_SECRET, access_token
from tests.helpers.databases import PgServer, cloned_database
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.exports.api import get_exports_root
from training_data_studio.models import TrainingConversation
from training_data_studio.plan import service as plan
from training_data_studio.training_files.storage import FolderStorage

# Bounded so the module stays under a minute; each operation still gets a spread of valid and boundary
# inputs. Derandomized, so CI sees the same inputs every run; raise the count locally to explore further.
EXAMPLES_PER_OPERATION = 25
ENDLESS_STREAMS = r"/events$"


@pytest.fixture(scope="module")
def fuzz_database(test_server: PgServer, template_database: str) -> Iterator[Database]:
    with cloned_database(test_server, template_database) as target:
        database = Database(target, pool_size=4)
        with database.session_scope() as s:
            plan.load_templates(s, plan.read_templates(), user="fuzzer")
            plan.load_plan(s, plan.read_plan(), user="fuzzer")
            s.execute(
                update(TrainingConversation)
                .where(TrainingConversation.is_seed_example)
                .values(generation_status="approved")
            )
        try:
            yield database
        finally:
            # schemathesis keeps each app's lifespan running until the process exits; end it before the
            # database it holds connections to is dropped.
            schemathesis_asgi.shutdown_lifespans()
            database.dispose()


SETTINGS = Settings(TDS_USER="fuzzer", ANTHROPIC_API_KEY="fuzz-key", SMTP_URL="")  # type: ignore[call-arg]
SIGNED_IN_SETTINGS = Settings(  # type: ignore[call-arg]
    ANTHROPIC_API_KEY="fuzz-key", SMTP_URL="", SUPABASE_JWT_SECRET=SecretStr(JWT_SECRET)
)
FUZZ_HEADERS: dict[str, dict[str, str]] = {
    "local": {},
    "signed_in": {"Authorization": f"Bearer {access_token(str(uuid.uuid4()), expires_in=6 * 3600)}"},
}


class AppRelay:
    """The ASGI app the schema calls: hands every request (and the lifespan) to the app under test."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the fuzz_app fixture plugs the app in"
        await self.app(scope, receive, send)


RELAY = AppRelay()
schema = schemathesis.openapi.from_dict(create_app(SETTINGS).openapi()).exclude(path_regex=ENDLESS_STREAMS)
schema.app = RELAY


@pytest.fixture(scope="module", params=list(FUZZ_HEADERS))
def fuzz_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def fuzz_app(fuzz_database: Database, fuzz_mode: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    exports_root: Path = tmp_path_factory.mktemp("fuzz-exports")
    app = create_app(SIGNED_IN_SETTINGS if fuzz_mode == "signed_in" else SETTINGS, fuzz_database)
    app.dependency_overrides[get_exports_root] = lambda: exports_root
    app.state.training_file_storage = FolderStorage(tmp_path_factory.mktemp("fuzz-training-files"))
    RELAY.app = app
    yield app
    RELAY.app = None


@pytest.mark.usefixtures("fuzz_app")
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_causes_a_server_error(case: schemathesis.Case, fuzz_mode: str) -> None:
    response = case.call(headers=FUZZ_HEADERS[fuzz_mode])
    case.validate_response(response, checks=[not_a_server_error])


def test_an_import_report_quoting_a_nul_byte_is_stored(database: Database) -> None:
    """Found by the fuzzing above: a file of one NUL byte made the import run's JSONB report unstorable (500)."""
    with TestClient(create_app(SETTINGS, database)) as client:
        response = client.post("/api/train-data/import/seed", files={"files": ("files", b"\x00")})
    assert response.status_code == 422, response.text  # the file is refused, with its error, and the run kept
    assert response.json()["run"]["status"] == "failed"
