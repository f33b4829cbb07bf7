"""The suite's own shape: tests import shared helpers from ``tests.helpers`` (and local
servers from their modules), never another test module or a conftest, so that moving or
deleting a test never breaks another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_no_test_imports_another_test_module_or_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in _imported(path):
            last = module.rsplit(".", 1)[-1]
            if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                offenders.append(f"{path.relative_to(TESTS)} imports {module}")
    assert offenders == []


def test_the_scan_sees_imports_of_every_form(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import tests.unit.test_x\nfrom tests.e2e.conftest import Cli\n"
                     "def f():\n    from tests.unit.test_y import z\n")
    assert _imported(probe) == ["tests.unit.test_x", "tests.e2e.conftest", "tests.unit.test_y"]
