"""The Status page and API, locally and behind Supabase access tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.system.service import DATASET_TABLES

SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
OTHER_SECRET = "someone-elses-secret-0123456789abcdef"


def token(sub: str, *, secret: str = SECRET, expires_in: int = 3600, role: str = "authenticated") -> str:
    claims = {"sub": sub, "role": role, "aud": "authenticated", "exp": int(time.time()) + expires_in}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def local_client(database: Database) -> Iterator[TestClient]:
    settings = Settings(TDS_USER="dana")  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as client:
        yield client


@pytest.fixture
def secured_client(database: Database) -> Iterator[TestClient]:
    settings = Settings(SUPABASE_JWT_SECRET=SecretStr(SECRET))  # type: ignore[call-arg]
    with TestClient(create_app(settings, database)) as client:
        yield client


def test_status_api_reports_mode_migrations_tables_and_user(local_client: TestClient, database: Database) -> None:
    body = local_client.get("/api/status").json()
    assert body["database_mode"] == database.target.mode
    assert body["user"] == "dana"
    assert [t["name"] for t in body["tables"]] == list(DATASET_TABLES)
    assert all(t["row_count"] == 0 for t in body["tables"])
    assert any(m["name"].endswith("_create_training_tables.sql") for m in body["migrations"])
    assert body["live_workers"] == 0


def test_status_page_renders_every_table(local_client: TestClient) -> None:
    page = local_client.get("/status")
    assert page.status_code == 200
    for table in DATASET_TABLES:
        assert table in page.text


def test_unknown_api_route_uses_the_error_shape(local_client: TestClient) -> None:
    response = local_client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "missing"),
        ({"Authorization": f"Bearer {token(str(uuid.uuid4()), expires_in=-10)}"}, "expired"),
        (
            {"Authorization": f"Bearer {token(str(uuid.uuid4()), secret='someone-elses-secret-0123456789abcdef')}"},
            "forged",
        ),
        ({"Authorization": "Bearer not.a.token"}, "garbage"),
    ],
)
def test_without_a_valid_token_the_answer_is_401(secured_client: TestClient, headers: dict[str, str], why: str) -> None:
    for path in ("/api/status", "/status"):
        response = secured_client.get(path, headers=headers)
        assert response.status_code == 401, why
    assert secured_client.get("/api/status", headers=headers).json()["error"]["code"] == "unauthorized"


def test_a_valid_token_acts_as_its_user_under_rls(secured_client: TestClient) -> None:
    user = str(uuid.uuid4())
    response = secured_client.get("/api/status", headers={"Authorization": f"Bearer {token(user)}"})
    assert response.status_code == 200
    assert response.json()["user"] == user


def test_the_token_cookie_works_for_pages(secured_client: TestClient) -> None:
    secured_client.cookies.set("sb-access-token", token(str(uuid.uuid4())))
    assert secured_client.get("/status").status_code == 200
