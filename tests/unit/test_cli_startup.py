"""`tds` starts without loading the model SDKs or the generation engine: every command (`tds import`,
`tds --help`) would otherwise pay their import time (about 3 s here) before doing anything."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("anthropic", "openai", "training_data_studio.local_generation", "training_data_studio.generation.flows")


def test_the_cli_loads_no_sdk_and_no_generation_engine_at_start() -> None:
    code = "import json, sys, training_data_studio.cli; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout))
    assert "training_data_studio.cli.generate" in loaded
    assert sorted(loaded & set(HEAVY)) == []
