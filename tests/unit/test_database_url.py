from __future__ import annotations

import pytest

from training_data_studio.core.db import DatabaseConfigError, parse_database_url


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not a url", "not a valid URL"),
        ("mysql://root@localhost/test", "not PostgreSQL"),
        ("postgresql://user@host:5432", "names no database"),
        ("postgresql:///dbname", "names no host"),
    ],
)
def test_a_malformed_database_url_says_what_is_wrong(raw: str, problem: str) -> None:
    with pytest.raises(DatabaseConfigError, match=problem) as info:
        parse_database_url(raw)
    assert "postgresql://USER:PASSWORD@HOST:5432/DBNAME" in info.value.message


def test_a_supabase_connection_string_with_sslmode_is_accepted() -> None:
    url = parse_database_url(
        "postgresql://postgres.abcdefgh:s3cret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres?sslmode=require"
    )
    assert url.drivername == "postgresql+psycopg"
    assert url.query["sslmode"] == "require"
    assert url.port == 6543
