"""Output files are never written through a planted symlink (issue 31, point 7): in a
sticky world-writable folder, another user's symlink at the output name pointing at a file
of ours made `rank report`, `rank chart` and `audit export` overwrite that file. Now the
name is replaced by a new file, the target is untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pykka
import pytest

from service.bootstrap import bootstrap
from tests.helpers import Cli, record_outcome

NOBODY = 65534


@pytest.fixture
def ready(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("init").code == 0
    rt = bootstrap(tmp_path / "data")
    try:
        record_outcome(rt, 4)
        record_outcome(rt, 2)
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    return cli


@pytest.mark.parametrize(("name", "args"), [
    ("report.csv", ("rank", "report", "--format", "csv", "--since", "30d", "-o")),
    ("report.html", ("rank", "report", "--format", "html", "--since", "30d", "-o")),
    ("chart.svg", ("rank", "chart", "-k", "coffee", "-o")),
    ("chart.png", ("rank", "chart", "-k", "coffee", "-o")),
    ("export.jsonl", ("audit", "export")),
])
def test_a_symlink_planted_at_the_output_name_is_replaced_not_followed(
        ready: Cli, tmp_path: Path, name: str, args: tuple[str, ...]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    victim = tmp_path / "victim.conf"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    link = shared / name
    link.symlink_to(victim)
    if os.geteuid() == 0:
        os.lchown(link, NOBODY, NOBODY)  # planted by another user
    done = ready(*args, str(link))
    assert victim.read_text() == "precious\n", "the symlink's target was not written"
    assert done.code == 0, done.err
    assert not link.is_symlink() and link.stat().st_size > 0
    assert link.stat().st_mode & 0o077 == 0, "written 0600"
    assert not [p for p in shared.iterdir() if p.name.endswith(".tmp")], "no leftovers"



def test_report_takes_csv_as_its_siblings_do_and_says_what_it_wrote(ready: Cli,
                                                                  tmp_path: Path) -> None:
    """Issue 32, point 8: `rank report --csv` was refused (it wanted `-f csv`), and
    `rank report -o` printed nothing on success while `rank chart` says what it wrote."""
    target = tmp_path / "r.csv"
    done = ready("rank", "report", "--csv", "--since", "30d", "-o", str(target))
    assert done.code == 0, done.err
    assert done.out.startswith(f"wrote {target}: ") and target.read_text().startswith("keyword")
    both = ready("rank", "report", "--csv", "--json", "--since", "30d")
    assert both.code == 2 and "choose one of --json and --csv" in both.err
