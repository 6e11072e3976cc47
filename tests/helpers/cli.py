"""Running the real `mektepnet` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def run_cli(*args: object, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m cli ARGS`, capturing its output; never waits more than two minutes."""
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd or ROOT, env={**os.environ, "COLUMNS": "200", **(env or {})})
