from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.helpers.browser import AUTH_MODES, AuthMode, auth_mode
from training_data_studio.app import create_app
from training_data_studio.core.db import Database


@pytest.fixture(params=AUTH_MODES)
def mode(request: pytest.FixtureRequest) -> AuthMode:
    """Each test of this package runs without sign-in and with Supabase access tokens."""
    return auth_mode(request.param)


@pytest.fixture
def client(database: Database, mode: AuthMode) -> Iterator[TestClient]:
    with TestClient(create_app(mode.settings, database)) as test_client:
        yield test_client
