"""Files vipb leaves behind are owner-only whatever the umask (issue 31, point 11): a replay's
read models (in DATA_DIR/replays/, so `doctor` keeps passing) and a backup's manifest."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.helpers import Cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_replay_is_owner_only_and_doctor_still_passes_the_data_dir(
        cli: Cli, tmp_path: Path) -> None:
    old = os.umask(0o022)  # the CLI processes inherit it: files 0644 unless vipb says
    try:
        assert cli("init").code == 0
        assert cli("proxy", "add", "http://127.0.0.1:3128").code == 0
        replayed = cli("events", "replay", "--until", "1", "--json")
        assert replayed.code == 0, replayed.err
        db = Path(replayed.json()["db"])
        assert db.parent == tmp_path / "data" / "replays"
        assert _mode(db) == 0o600 and _mode(db.parent) == 0o700
        checks = {c["name"]: c for c in cli("doctor", "--json").json()}
        assert checks["data-dir"]["status"] == "ok", checks["data-dir"]
        backup = tmp_path / "backup"
        assert cli("backup", "create", str(backup)).code == 0
        assert _mode(backup / "manifest.json") == 0o600
        assert json.loads((backup / "manifest.json").read_text())
    finally:
        os.umask(old)
