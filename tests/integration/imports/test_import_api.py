"""The upload route, the run routes and the export route, locally and as a signed-in Supabase user (RLS)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from tests.helpers.documents import json_identical, with_value
from tests.helpers.seed_files import UPSTREAM_GOOD, good_seed, load_plan
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.models import ImportRun, TrainingConversation

SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"


def _file(name: str, document: object) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, json.dumps(document).encode("utf-8"), "application/json"))


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    settings = Settings(TDS_USER="dana")  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as test_client:
        yield test_client


def test_upload_imports_and_reports_per_file(client: TestClient, database: Database) -> None:
    bad = with_value(good_seed("conv_bad"), ("training_pairs", 0, "turn_number"), 0)
    response = client.post(
        "/api/train-data/import/seed",
        files=[_file("good.json", good_seed("conv_good", 2)), _file("../../etc/bad.json", bad)],
        data={"repair": "false"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed_with_errors"
    assert body["created_by"] == "dana"
    assert body["totals"]["conversations"] == 1
    assert body["totals"]["errors"] == 1
    good, failed = body["files"]
    assert (good["path"], good["status"], good["turns"]) == ("good.json", "imported", 2)
    assert failed["path"] == "bad.json"  # the client's directories are dropped
    assert failed["errors"][0]["json_path"] == "$.training_pairs[0].turn_number"
    assert failed["errors"][0]["text"].startswith("bad.json: $.training_pairs[0].turn_number: must be a whole number")

    runs = client.get("/api/train-data/import/runs").json()
    assert [r["run_id"] for r in runs] == [body["run_id"]]
    detail = client.get(f"/api/train-data/import/runs/{body['run_id']}").json()
    assert detail["files"][1]["errors"] == failed["errors"]
    with database.session_scope() as session:
        assert session.scalars(select(TrainingConversation.conversation_id)).all() == ["conv_good"]


def test_an_upload_where_every_file_fails_is_422_in_the_error_shape_and_recorded(
    client: TestClient, database: Database
) -> None:
    response = client.post("/api/train-data/import/seed", files=[("files", ("empty.json", b"", "application/json"))])
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "import_failed"
    assert body["error"]["message"] == "No file could be imported: empty.json: file is empty: expected a JSON seed file"
    assert body["error"]["fields"] == {"empty.json#1": "empty.json: file is empty: expected a JSON seed file"}
    assert body["run"]["status"] == "failed"
    with database.session_scope() as session:
        assert session.scalars(select(ImportRun.status)).all() == ["failed"]


def test_upload_options_dry_run_and_replace(client: TestClient, database: Database) -> None:
    dry = client.post(
        "/api/train-data/import/seed", files=[_file("a.json", good_seed("conv_a"))], data={"dry_run": "true"}
    ).json()
    assert dry["dry_run"] is True
    assert dry["run_id"] is None
    assert dry["totals"]["conversations"] == 1
    with database.session_scope() as session:
        assert session.scalars(select(TrainingConversation.id)).all() == []

    client.post("/api/train-data/import/seed", files=[_file("a.json", good_seed("conv_a"))])
    replaced = client.post(
        "/api/train-data/import/seed", files=[_file("a.json", good_seed("conv_a", 3))], data={"replace": "true"}
    ).json()
    assert replaced["totals"]["turns"] == 3
    rollback = client.post(f"/api/train-data/import/runs/{replaced['run_id']}/rollback")
    assert rollback.status_code == 200
    assert rollback.json()["restored_previous"] == ["conv_a"]
    again = client.post(f"/api/train-data/import/runs/{replaced['run_id']}/rollback")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_export_route(client: TestClient, database: Database) -> None:
    document = good_seed("conv_a", 2)
    client.post("/api/train-data/import/seed", files=[_file("a.json", document)])
    response = client.get("/api/train-data/conversations/conv_a/export")
    assert response.status_code == 200
    assert json_identical(response.json(), document)
    with database.session_scope() as session:
        row_id = session.scalars(select(TrainingConversation.id)).one()
    assert json_identical(client.get(f"/api/train-data/conversations/{row_id}/export").json(), document)

    missing = client.get("/api/train-data/conversations/nope/export")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/train-data/import/runs/{uuid.uuid4()}").status_code == 404


def test_export_of_a_planned_row_is_409(client: TestClient, database: Database) -> None:
    with database.session_scope() as session:
        load_plan(session)
    response = client.get("/api/train-data/conversations/fp_marcus_002/export")
    assert response.status_code == 409
    assert "has no turns yet" in response.json()["error"]["message"]


def test_export_route_of_a_real_file(client: TestClient, upstream_seeds: Path) -> None:
    path = upstream_seeds / UPSTREAM_GOOD[0]
    content = path.read_bytes()
    body = client.post("/api/train-data/import/seed", files=[("files", (path.name, content, "application/json"))])
    assert body.json()["status"] == "completed"
    exported = client.get("/api/train-data/conversations/fp_marcus_002/export").json()
    assert json_identical(exported, json.loads(content))


def test_a_signed_in_user_imports_and_rolls_back_under_rls(database: Database) -> None:
    settings = Settings(SUPABASE_JWT_SECRET=SecretStr(SECRET))  # type: ignore[call-arg]
    user = str(uuid.uuid4())
    claims = {"sub": user, "role": "authenticated", "aud": "authenticated", "exp": int(time.time()) + 3600}
    headers = {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}
    with TestClient(create_app(settings, database)) as secured:
        body = secured.post(
            "/api/train-data/import/seed", files=[_file("a.json", good_seed("conv_a"))], headers=headers
        ).json()
        assert body["status"] == "completed", body
        assert body["created_by"] == user
        assert secured.get("/api/train-data/import/runs", headers=headers).json()[0]["run_id"] == body["run_id"]
        rollback = secured.post(f"/api/train-data/import/runs/{body['run_id']}/rollback", headers=headers)
        assert rollback.status_code == 200, rollback.text
    with database.session_scope() as session:
        assert session.scalars(select(ImportRun.created_by)).one() == user
        assert session.scalars(select(TrainingConversation.id)).all() == []
