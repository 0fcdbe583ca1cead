"""Training files over HTTP, stored in a real S3-compatible server (moto in server mode), and the pages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.helpers.training_files import insert_v4_conversation
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.exports.training_file import V4_JSON, V4_JSONL
from training_data_studio.exports.v4_schema import schema_problems
from training_data_studio.training_files.storage import Storage

API = "/api/train-data/training-files"


@pytest.fixture
def client(database: Database, s3_storage: Storage) -> Iterator[TestClient]:
    with database.session_scope() as session:
        for number in range(1, 5):
            insert_v4_conversation(session, f"conv_{number:03d}", number=100 + number, turns=2)
    app = create_app(Settings(TDS_USER="dana"), database)  # type: ignore[call-arg]
    app.state.training_file_storage = s3_storage
    with TestClient(app) as test_client:
        yield test_client


def test_create_add_and_download_through_s3(client: TestClient, s3_storage: Storage) -> None:
    created = client.post(API, json={"name": "batch one", "selection": {"conversation_ids": ["conv_001", "conv_002"]}})
    assert created.status_code == 201, created.text
    body = created.json()
    link = next(f for f in body["versions"][0]["files"] if f["name"] == V4_JSON)
    download = client.get(link["url"])
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="batch_one_v1.v4.json"'
    assert download.headers["cache-control"] == "private, no-store"
    assert hashlib.sha256(download.content).hexdigest() == link["sha256"]
    assert schema_problems(json.loads(download.content)) == []
    # The bytes really are in the bucket, under the configured prefix.
    key = f"studio/{body['id']}/v1/{V4_JSON}"
    stored = s3_storage.client.get_object(Bucket="tds-training-files", Key=key)["Body"].read()  # type: ignore[attr-defined]
    assert stored == download.content

    added = client.post(f"{API}/batch one/add", json={"selection": {"conversation_ids": ["conv_003"]}})
    assert added.status_code == 201, added.text
    assert added.json()["version_number"] == 2
    jsonl = client.get(f"{API}/{body['id']}/versions/2/files/{V4_JSONL}")
    assert json.loads(jsonl.text.splitlines()[0])["_meta"]["total_pairs"] == 6
    listed = client.get(API).json()
    assert [(f["name"], f["current_version"], f["conversation_count"]) for f in listed] == [("batch one", 2, 3)]


def test_errors_are_json_with_a_clear_message(client: TestClient) -> None:
    bad = client.post(API, json={"name": "x", "selection": {"conversation_ids": ["ghost"], "statuses": ["approved"]}})
    assert bad.status_code == 422
    unknown = client.post(API, json={"name": "x", "selection": {"conversation_ids": ["ghost"]}})
    assert unknown.status_code == 422
    assert "No conversation has the id ghost" in unknown.json()["error"]["message"]
    missing = client.get(f"{API}/nothing-here/versions/1/files/{V4_JSON}")
    assert missing.status_code == 404
    client.post(API, json={"name": "y", "selection": {"conversation_ids": ["conv_001"]}})
    not_a_file = client.get(f"{API}/y/versions/1/files/manifest.json")
    assert not_a_file.status_code == 404
    assert "training-file.v4.json" in not_a_file.json()["error"]["message"]


def test_pages_list_detail_and_the_matrix_dialog(client: TestClient) -> None:
    created = client.post("/training-files", data={"name": "from-form", "min_quality": ""}, follow_redirects=False)
    assert created.status_code == 303
    detail = client.get(created.headers["location"])
    assert detail.status_code == 200
    assert "conv_004" in detail.text
    assert "Scaffolding distribution" in detail.text
    assert "training-file.v4.json" in detail.text
    removed = client.post(
        f"{created.headers['location']}/remove", data={"conversation_id": "conv_004"}, follow_redirects=False
    )
    assert removed.status_code == 303
    after = client.get(removed.headers["location"])
    assert "version 2" in after.text
    assert "conv_004" not in after.text.split("<h2>Conversations</h2>")[1].split("</section>")[0]
    assert "from-form" in client.get("/training-files").text

    dialog = client.get("/training-files/add-dialog", params={"selected": ["conv_001"]})
    assert dialog.status_code == 200
    assert 'name="selected" value="conv_001"' in dialog.text
    added = client.post(
        "/training-files/add-selected",
        data={"selected": ["conv_001"], "new_name": "picked"},
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200, added.text
    assert "version 1 written" in added.text
    matrix = client.get("/")
    assert 'id="add-to-training-file"' in matrix.text
    assert "/static/js/training-files.js" in matrix.text
