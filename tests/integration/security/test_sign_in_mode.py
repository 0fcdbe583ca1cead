"""Sign-in mode (SUPABASE_JWT_SECRET set): tokens the policies cannot use are refused with 401/403 and the
error shape; a signed-in user generates (the queue is the app's, the data stays under RLS), approves and
exports; and rolls back only their own import runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, update

from tests.helpers.browser import JWT_SECRET, access_token
from tests.helpers.generation import work_until_idle
from tests.helpers.seed_files import good_seed
from training_data_studio.app import create_app
from training_data_studio.core.config import Settings
from training_data_studio.core.db import Database
from training_data_studio.exports.api import get_exports_root
from training_data_studio.models import GenerationJob, TrainingConversation
from training_data_studio.plan.seed import seed_default_data
from training_data_studio.testing.fake_anthropic import FakeAnthropic
from training_data_studio.testing.fake_llm import FakeConfig

SIGNED_IN = Settings(SUPABASE_JWT_SECRET=SecretStr(JWT_SECRET), ANTHROPIC_API_KEY="test-key")  # type: ignore[call-arg]
API = "/api/train-data"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def secured(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(SIGNED_IN, database)
    app.dependency_overrides[get_exports_root] = lambda: tmp_path / "exports"
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("token", "status", "why"),
    [
        (access_token("not-a-uuid"), 401, "a subject that is not a user id"),
        (access_token("dana@example.com"), 401, "an e-mail as the subject"),
        (access_token(str(uuid.uuid4()), role="anon"), 403, "the anon key's role"),
        (access_token(str(uuid.uuid4()), role="service_role"), 401, "the service role, which bypasses RLS"),
        (access_token(str(uuid.uuid4()), expires_in=-5), 401, "expired"),
        (access_token(str(uuid.uuid4()), secret="another-projects-secret-0123456789"), 401, "forged"),
        (
            jwt.encode({"sub": str(uuid.uuid4()), "exp": 9999999999}, key="", algorithm="none"),
            401,
            "alg=none",
        ),
    ],
)
def test_tokens_the_policies_cannot_use_are_refused_on_reads_and_writes(
    secured: TestClient, token: str, status: int, why: str
) -> None:
    for method, path, body in [
        ("GET", f"{API}/conversations", None),
        ("POST", f"{API}/generate/single", {"conversation_id": "11"}),
        ("PATCH", f"{API}/conversations/fp_x/status", {"status": "approved"}),
        ("POST", f"{API}/quality/recompute", {}),
    ]:
        response = secured.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == status, (why, path, response.text)
        assert response.json()["error"]["code"] == ("forbidden" if status == 403 else "unauthorized"), why


def test_a_signed_in_user_generates_one_approves_it_and_exports_it(
    secured: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As a user would: sign in (a token), generate conversation 11 (a real worker, the real SDK over real
    HTTP to the fake server), approve it, export the approved set."""
    with database.session_scope() as s:
        seed_default_data(s, user="setup")
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_number <= 10)
            .values(generation_status="approved")
        )
    user = str(uuid.uuid4())
    headers = bearer(access_token(user))

    created = secured.post(f"{API}/generate/single", json={"conversation_id": "11"}, headers=headers)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    with FakeAnthropic(FakeConfig(latency_seconds=0.01)) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        work_until_idle(database, Settings(ANTHROPIC_API_KEY="test-key"))  # type: ignore[call-arg]
    with database.session_scope() as s:
        job = s.get(GenerationJob, uuid.UUID(job_id))
        assert job is not None
        assert (job.status, job.completed_conversations, job.created_by) == ("completed", 1, user)
        conversation_id = s.scalar(
            select(TrainingConversation.conversation_id).where(TrainingConversation.conversation_number == 11)
        )

    approved = secured.post(f"{API}/conversations/{conversation_id}/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["reviewed_by"] == user

    with database.session_scope() as s:
        # The ten plan seeds stood in as done so generation had its examples; they have no turns to export.
        s.execute(
            update(TrainingConversation)
            .where(TrainingConversation.conversation_number <= 10)
            .values(generation_status="planned")
        )
        expected = s.scalar(
            select(func.count())
            .select_from(TrainingConversation)
            .where(TrainingConversation.generation_status == "approved")
        )

    # The fake model writes its turns from the example seed it was shown, so the export would rightly leave the
    # new conversation out as a copy of its seed; a user who wants it anyway says so.
    exported = secured.post(
        f"{API}/exports",
        json={"format": "chat-jsonl", "statuses": ["approved"], "val_fraction": 0, "allow_seed_copies": True},
        headers=headers,
    )
    assert exported.status_code == 201, exported.text
    manifest = exported.json()["manifest"]
    train = next(name for name in manifest["files"] if name.startswith("train"))
    lines = secured.get(exported.json()["downloads"][train], headers=headers).text.splitlines()
    # One chat example per approved conversation the export kept (it leaves seed copies and exact duplicates
    # out, and lists them), the new one among them.
    cleaning = manifest["cleaning"]
    assert cleaning["conversations_selected"] == expected
    assert len(lines) == expected - cleaning["excluded"] - cleaning["deduplicated"]
    assert all(json.loads(line)["messages"] for line in lines)
    assert conversation_id in manifest["splits"]["train"]["conversation_ids"]


def test_a_signed_in_user_rolls_back_only_their_own_import_runs(secured: TestClient, database: Database) -> None:
    alice, bob = bearer(access_token(str(uuid.uuid4()))), bearer(access_token(str(uuid.uuid4())))
    upload = [("files", ("a.json", json.dumps(good_seed("conv_a")).encode(), "application/json"))]
    run = secured.post(f"{API}/import/seed", files=upload, headers=alice).json()
    assert run["status"] == "completed", run

    refused = secured.post(f"{API}/import/runs/{run['run_id']}/rollback", headers=bob)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    with database.session_scope() as s:
        assert s.scalar(select(TrainingConversation.id).where(TrainingConversation.conversation_id == "conv_a"))
    page = secured.post(f"/import/runs/{run['run_id']}/rollback", headers={**bob, "Accept": "application/json"})
    assert page.status_code == 403

    assert secured.post(f"{API}/import/runs/{run['run_id']}/rollback", headers=alice).status_code == 200
