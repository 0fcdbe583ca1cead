"""The version-history migration records the templates that existed before it."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import psycopg

from tests.helpers.databases import PgServer
from training_data_studio.core.migrate import migrate, migrations_dir

VERSIONS_MIGRATION = "20261125152000_template_versions.sql"


def test_existing_templates_get_their_current_version_recorded(test_server: PgServer, tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if path.name < VERSIONS_MIGRATION:
            shutil.copy(path, before / path.name)
    name = f"tds_test_{uuid.uuid4().hex[:12]}"
    test_server.create_database(name)
    try:
        conninfo = test_server.conninfo_for(name)
        migrate(conninfo, before)
        with psycopg.connect(conninfo) as conn:
            conn.execute(
                "INSERT INTO conversation_templates (template_id, template_name, tier, template_prompt, version, "
                "created_by) VALUES ('old_one', 'Old', 'tier3_edge', 'Hello {{persona_name}}', 3, 'kim')"
            )
        result = migrate(conninfo)
        assert VERSIONS_MIGRATION in result.applied
        with psycopg.connect(conninfo) as conn:
            rows = conn.execute(
                "SELECT t.template_id, v.version, v.template_prompt, v.created_by "
                "FROM conversation_template_versions v JOIN conversation_templates t ON t.id = v.template_id"
            ).fetchall()
        assert rows == [("old_one", 3, "Hello {{persona_name}}", "kim")]
    finally:
        test_server.drop_database(name)
