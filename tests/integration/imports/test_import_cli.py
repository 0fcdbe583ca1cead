"""`tds import <paths…>` and `tds import rollback <run-id>`, run as the user runs them (a subprocess on the
test database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from tests.helpers.seed_files import good_seed, write_json, write_text
from training_data_studio.core.db import Database, DatabaseTarget
from training_data_studio.models import ImportRun, TrainingConversation


def _tds(target: DatabaseTarget, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TDS_", "DATABASE_URL", "SUPABASE_"))}
    env.update(DATABASE_URL=target.conninfo, TDS_USER="dana", COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "training_data_studio", *args],
        cwd=cwd,  # no stray .env file
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_a_folder_with_a_good_and_a_bad_file_then_roll_it_back(
    db_target: DatabaseTarget, database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    write_json(folder, "a-good.json", good_seed("conv_good", 2))
    write_text(folder, "b-bad.json", '{"training_pairs": [oops]}')

    result = _tds(db_target, tmp_path, "import", str(folder))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert f"✓ {folder / 'a-good.json'}: 1 conversation (conv_good), 2 turns, 4 sentences" in out
    assert f"✗ {folder / 'b-bad.json'}: failed, nothing written" in out
    assert "error: line 1, column 21: $.training_pairs[0]: is not valid JSON: Expecting value" in out
    assert "Import summary" in out
    assert "completed_with_errors, 1 of 2 files failed" in out

    with database.session_scope() as session:
        assert session.scalars(select(TrainingConversation.conversation_id)).all() == ["conv_good"]
        run_id = session.scalars(select(ImportRun.id)).one()

    listed = _tds(db_target, tmp_path, "import", "runs")
    assert listed.returncode == 0, listed.stderr
    assert str(run_id) in listed.stdout

    rolled = _tds(db_target, tmp_path, "import", "rollback", str(run_id))
    assert rolled.returncode == 0, rolled.stderr
    assert f"rolled back run {run_id}: 1 conversation deleted" in rolled.stdout
    with database.session_scope() as session:
        assert session.scalars(select(TrainingConversation.id)).all() == []

    again = _tds(db_target, tmp_path, "import", "rollback", str(run_id))
    assert again.returncode == 1
    assert "already rolled back" in again.stderr


def test_dry_run_and_repair_options(db_target: DatabaseTarget, database: Database, tmp_path: Path) -> None:
    write_text(tmp_path, "broken.json", json.dumps(good_seed("conv_fix", 1)).replace('"says thanks"', "says thanks"))
    refused = _tds(db_target, tmp_path, "import", "--dry-run", "broken.json")
    assert "is not valid JSON" in refused.stdout
    assert "hint: on the command line, import with repair is `tds import --repair`" in refused.stdout
    dry = _tds(db_target, tmp_path, "import", "--dry-run", "--repair", "broken.json")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "(repaired)" in dry.stdout
    assert "dry run: completed; nothing was written" in dry.stdout
    assert "repaired by json-repair: the unquoted array item `says thanks`" in dry.stdout
    with database.session_scope() as session:
        assert session.scalars(select(ImportRun.id)).all() == []

    real = _tds(db_target, tmp_path, "import", "run", "broken.json", "--repair")
    assert real.returncode == 0, real.stdout + real.stderr
    with database.session_scope() as session:
        assert session.scalars(select(TrainingConversation.conversation_id)).all() == ["conv_fix"]


def test_a_bad_run_id_is_one_clear_line(db_target: DatabaseTarget, tmp_path: Path) -> None:
    result = _tds(db_target, tmp_path, "import", "rollback", "not-a-uuid")
    assert result.returncode == 1
    assert "'not-a-uuid' is not an import run id" in result.stderr
