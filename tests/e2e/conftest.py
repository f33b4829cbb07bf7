"""Run the real ``vipb`` console script in a subprocess against a temp data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(sys.executable).parent / "vipb"
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "adapters.cli.main"]


class Result:
    """Exit code and outputs of one CLI run."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """``cli("proxy", "list", input=...)`` runs vipb with an isolated data dir and key source."""
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"), "VIPB_KEYRING": "off"}
    env.pop("VIPB_MASTER_KEY", None)

    def run(*args: str, input: str | None = None, **extra_env: str) -> Result:
        proc = subprocess.run([*ENTRY, *args], capture_output=True, text=True,
                              env={**env, **extra_env}, input=input, timeout=120)
        return Result(proc)

    return run
