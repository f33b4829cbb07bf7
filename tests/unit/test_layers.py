"""The layer table of docs/design.md is the import-linter contract of pyproject.toml, and
the contract is checked by the real import-linter (scripts/test.sh runs it on the code; here
it is shown to refuse an arrow that runs back up)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c for c in contracts if c["type"] == "layers"]
    return dict(layers)


def _documented_layers() -> list[str]:
    """Packages of the design doc's layer table, top row (lowest layer) first."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    table = text.split("## Layers", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `(\w+)/` \|", table, flags=re.MULTILINE)


def test_the_contract_is_the_documented_table_with_scripts_and_tests_on_top() -> None:
    documented = _documented_layers()
    assert documented[0] == "domain" and "entrypoints" in documented
    assert _contract()["layers"] == ["tests", "scripts", *reversed(documented)]


def test_every_package_of_ours_is_in_a_layer() -> None:
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert ours == set(_contract()["layers"])  # type: ignore[arg-type]


def test_import_linter_refuses_an_import_that_runs_back_up(tmp_path: Path) -> None:
    """A copy of the tree where ``domain`` imports ``service`` breaks the contract, and the
    report names the arrow; the same checker keeps the real tree (scripts/test.sh)."""
    assert LINT.is_file(), "import-linter is a test dependency (pyproject.toml)"
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".soak", "*cache*", "__pycache__", ".hypothesis", "build", "*.egg-info"))
    (tree / "domain" / "_back_arrow.py").write_text("import service.runtime\n")
    broken = subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True,
                            text=True, timeout=120,
                            env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "domain._back_arrow -> service.runtime" in broken.stdout
    (tree / "domain" / "_back_arrow.py").unlink()
    kept = subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True,
                          text=True, timeout=120,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    assert kept.returncode == 0, kept.stdout + kept.stderr
