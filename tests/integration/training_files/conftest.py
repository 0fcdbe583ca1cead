"""Storage for training file tests: a folder per test, or a real S3-compatible server (moto in server mode)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from training_data_studio.core.config import Settings
from training_data_studio.training_files.storage import FolderStorage, Storage, storage_from_settings

BUCKET = "tds-training-files"


@pytest.fixture
def folder_storage(tmp_path: Path) -> FolderStorage:
    return FolderStorage(tmp_path / "training-files")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free local port, for the session: real HTTP, real S3 protocol."""
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Storage:
    """Object storage as the app makes it from TDS_STORAGE_URL, in a fresh bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    settings = Settings(  # type: ignore[call-arg]
        TDS_STORAGE_URL=f"s3://{BUCKET}/studio", TDS_STORAGE_ENDPOINT_URL=s3_endpoint
    )
    storage = storage_from_settings(settings)
    client = storage.client  # type: ignore[attr-defined]
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if BUCKET in existing:
        for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    else:
        client.create_bucket(Bucket=BUCKET)
    return storage
