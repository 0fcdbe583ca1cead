"""The migrations build the schema the models declare, apply once, and refuse an edited file."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from tests.helpers.databases import PgServer, cloned_database
from training_data_studio.core.db import Database
from training_data_studio.core.migrate import MigrationError, load_migration_files, migrate, migrations_dir
from training_data_studio.models import Base
from training_data_studio.system.service import DATASET_TABLES


def test_the_eight_tables_exist_with_rls_enabled(session: Session) -> None:
    rows = session.connection().exec_driver_sql(
        "SELECT relname, relrowsecurity FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
    )
    rls = {name: enabled for name, enabled in rows}
    for table in DATASET_TABLES:
        assert table in rls, f"{table} missing"
        assert rls[table] is True, f"row-level security is off on {table}"


def test_models_match_the_migrated_database(database: Database) -> None:
    inspector = inspect(database.engine)
    for table in Base.metadata.sorted_tables:
        db_columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        model_columns = {c.name: c for c in table.columns}
        assert set(db_columns) == set(model_columns), f"{table.name}: columns differ"
        for name, column in model_columns.items():
            assert db_columns[name]["nullable"] == column.nullable, f"{table.name}.{name}: nullability differs"


def test_migrate_is_a_no_op_when_up_to_date(database: Database) -> None:
    result = migrate(database.target.conninfo)
    assert result.applied == []
    assert result.already_applied == len(load_migration_files()) + 1


def test_an_edited_migration_is_refused_and_nothing_changes(database: Database, tmp_path: Path) -> None:
    edited = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), edited)
    first = sorted(edited.glob("*.sql"))[1]
    first.write_text(first.read_text() + "\n-- an afterthought\n")
    with pytest.raises(MigrationError, match=rf"{first.name} was edited after it was applied"):
        migrate(database.target.conninfo, edited)


def test_a_failing_migration_rolls_back_alone(test_server: PgServer, template_database: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    (folder / "29991231000000_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    with cloned_database(test_server, template_database) as target:
        conninfo = target.conninfo
        with pytest.raises(MigrationError, match=r"29991231000000_broken\.sql failed and was rolled back"):
            migrate(conninfo, folder)
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
            names = [r[0] for r in conn.execute("SELECT name FROM tds_schema_migrations").fetchall()]
        assert "29991231000000_broken.sql" not in names
