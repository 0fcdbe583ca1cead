"""The export API, the Export page and `tds export`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.helpers.export_factories import insert_conversation
from training_data_studio import cli
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.exports.api import get_exports_root
from training_data_studio.exports.manifest import sha256_file

API = "/api/train-data/exports"


def _dataset(database: Database) -> None:
    with database.session_scope() as session:
        for number in range(1, 7):
            persona = "Marcus" if number % 2 else "Jennifer"
            insert_conversation(session, f"conv_{number:03d}", number=100 + number, persona_type=persona)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "exports"


@pytest.fixture
def client(database: Database, store: Path) -> Iterator[TestClient]:
    _dataset(database)
    app = create_app(Settings(TDS_USER="dana"), database)  # type: ignore[call-arg]
    app.dependency_overrides[get_exports_root] = lambda: store
    with TestClient(app) as test_client:
        yield test_client


def test_post_exports_returns_the_manifest_and_downloads_work(client: TestClient, store: Path) -> None:
    response = client.post(API, json={"format": "sharegpt", "seed": 3, "val_fraction": 0.3})
    assert response.status_code == 201, response.text
    body = response.json()
    folder = body["folder"]
    assert body["export_id"].startswith(folder)
    assert len(folder) == 16
    assert body["check"]["ok"] is True
    assert set(body["manifest"]["files"]) == {"train.json", "validation.json", "dataset_info.json"}
    assert (store / folder / "manifest.json").is_file()

    for name, entry in body["manifest"]["files"].items():
        download = client.get(body["downloads"][name])
        assert download.status_code == 200
        assert download.content == (store / folder / name).read_bytes()
        assert sha256_file(store / folder / name) == entry["sha256"]
    assert client.get(f"{API}/{folder}").json() == body["manifest"]
    assert client.get(f"{API}/{folder}/files/manifest.json").json() == body["manifest"]


def test_the_same_export_twice_is_the_same_snapshot(client: TestClient) -> None:
    first = client.post(API, json={"format": "chat-jsonl"}).json()
    second = client.post(API, json={"format": "chat-jsonl"}).json()
    assert first["export_id"] == second["export_id"]
    other = client.post(API, json={"format": "chat-jsonl", "seed": 99}).json()
    assert other["export_id"] != first["export_id"]


@pytest.mark.parametrize(
    "path",
    [
        "/files/..%2F..%2Fsecret.txt",
        "/files/other.json",
        "/files/.env",
    ],
)
def test_downloads_only_serve_files_of_the_manifest(client: TestClient, store: Path, path: str) -> None:
    folder = client.post(API, json={"format": "chat-jsonl"}).json()["folder"]
    (store / folder / "other.json").write_text("{}")
    (store.parent / "secret.txt").write_text("no")
    response = client.get(f"{API}/{folder}{path}")
    assert response.status_code == 404
    assert "no" != response.text


def test_unknown_export_ids_are_404(client: TestClient) -> None:
    assert client.get(f"{API}/..").status_code == 404
    assert client.get(f"{API}/0123456789abcdef").status_code == 404
    assert client.get(f"{API}/not-an-id/files/train.jsonl").status_code == 404


def test_bad_options_and_empty_selection_are_422(client: TestClient) -> None:
    unknown = client.post(API, json={"format": "csv"})
    assert unknown.status_code == 422
    assert "format" in unknown.json()["error"]["fields"]
    empty = client.post(API, json={"format": "chat-jsonl", "statuses": ["failed"]})
    assert empty.status_code == 422
    assert empty.json()["error"]["message"].startswith("No conversations match the selection")
    mixed = client.post(API, json={"format": "annotated", "weights": "all"})
    assert mixed.status_code == 422


def test_export_page(client: TestClient) -> None:
    page = client.get("/exports")
    assert page.status_code == 200
    assert "Export a training set" in page.text
    assert "Marcus" in page.text
    result = client.post(
        "/exports",
        data={"format": "chat-jsonl", "statuses": ["approved"], "personas": ["Marcus"], "val_fraction": "0.3"},
        headers={"HX-Request": "true"},
    )
    assert result.status_code == 200
    assert "All checks passed" in result.text
    assert "train.jsonl" in result.text
    assert "<html" not in result.text
    assert "Left out: 0 exact duplicate(s), 0 seed copies" in result.text


def test_cli_export_writes_checks_and_summarises(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dataset(database)
    monkeypatch.setattr(cli.export, "connected_database", lambda: Database(database.target, pool_size=1))
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["export", "--format", "chat-jsonl", "--out", str(out), "--mode", "per-turn", "--weights", "all"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "check passed" in result.output
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    line = json.loads((out / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["messages"][-1]["weight"] == 1

    again = runner.invoke(cli.app, args)
    assert again.exit_code == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first

    too_long = runner.invoke(cli.app, [*args, "--max-tokens", "10"])
    assert too_long.exit_code == 1
    assert "over the budget of 10" in too_long.output

    unknown = runner.invoke(cli.app, ["export", "--format", "csv", "--out", str(out)])
    assert unknown.exit_code == 2
    assert "format" in unknown.output

    empty = runner.invoke(cli.app, ["export", "--format", "sharegpt", "--out", str(out), "--status", "failed"])
    assert empty.exit_code == 1
    assert "No conversations match" in empty.output
