"""The README's first command runs the demo (``scripts/demo.sh`` installs, then runs
``scripts/demo.py``): it must pass from a clean clone, whatever the working directory. A
helper server it starts once failed to import from the installed tree and the demo stopped at
``vipb doctor``; no test ran it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_to_the_end_from_any_directory(tmp_path: Path) -> None:
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "demo" / "data"),
           "VIPB_KEYRING": "off"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "plain-text passwords found in" in done.stdout
    assert done.stdout.rstrip().endswith(": none"), done.stdout[-500:]
    assert "$ vipb rank report" in done.stdout and "$ vipb audit verify" in done.stdout
