"""Where training file versions are kept: a folder (the default) or S3-compatible object storage.

Objects are written once and never changed (a version's files are immutable), and they are only read by
the app, which serves them to a signed-in user: no public or pre-signed links are ever made.
Supabase Storage speaks the S3 protocol, so the same client serves it (path-style addressing, as Supabase
and most S3-compatible servers expect).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from ..core.config import Settings
from ..core.errors import AppError

DEFAULT_FOLDER = "training-files"


class Storage(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def describe(self) -> str: ...


def _safe_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class FolderStorage:
    root: Path

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a reader never sees half a file.
        handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise AppError(
                "storage_missing",
                f"The stored file {key} is missing from the training file storage; it was removed outside the "
                "Studio. Make a new version to write it again.",
                status=500,
            ) from exc

    def describe(self) -> str:
        return f"folder {self.root}"


class ObjectStorage:
    """An S3 bucket (or a prefix in one) through boto3."""

    def __init__(self, *, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{_safe_key(key)}" if self.prefix else _safe_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise AppError(
                "storage_missing" if code in ("NoSuchKey", "404") else "storage_error",
                f"Could not read {self._key(key)} from bucket {self.bucket} ({code or type(exc).__name__}).",
                status=500,
            ) from exc
        data: bytes = response["Body"].read()
        return data

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def storage_from_settings(settings: Settings) -> Storage:
    if not settings.storage_url:
        return FolderStorage(settings.data_dir.parent / DEFAULT_FOLDER)
    parsed = urlparse(settings.storage_url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise AppError(
            "storage_url_invalid",
            f"TDS_STORAGE_URL must look like s3://bucket or s3://bucket/prefix, not {parsed.scheme or '?'}://...; "
            "unset it to keep training files in the data directory.",
            status=500,
        )
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=settings.storage_endpoint_url,
        region_name=settings.storage_region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
    )
    return ObjectStorage(bucket=parsed.netloc, prefix=parsed.path, client=client)
