"""The package installs as users install it (issue 32, point 1: the wheel left out
adapters.sql and the engine files, so every command of an installed vipb failed). The
checkout is built into an sdist and a wheel from that sdist; the wheel holds every module
and data file of the tree; installed into a fresh venv, `vipb` runs from outside the
checkout: init, doctor, rank engines and one search against the local engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from scripts.fixtures.serp_site import SerpSite
from tests.helpers import HAVE_CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "projections", "adapters", "actors", "service", "entrypoints")
DATA = ("*.toml", "*.js", "*.txt")


def _tree_files() -> set[str]:
    """The modules and data files of the packages, as the checkout has them."""
    listed = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    return {f for f in listed if f.endswith(".py") or any(Path(f).match(p) for p in DATA)}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel of a copy of the checkout (nothing is written into it)."""
    tmp = tmp_path_factory.mktemp("dist")
    source = tmp / "source"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                            str(tmp / "out"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return tmp / "out"


def test_the_wheel_holds_every_module_and_data_file_of_the_tree(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    assert sdist.stat().st_size > 0
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = sorted(_tree_files() - shipped)
    assert missing == [], f"left out of the wheel: {missing[:20]}"
    assert "adapters/sql/__init__.py" in shipped
    assert any(n.startswith("adapters/serp/engines/") and n.endswith(".toml") for n in shipped)


@pytest.mark.skipif(not HAVE_CHROMIUM and not os.environ.get("CI"),
                    reason="no Chromium (apt-get install chromium)")
def test_the_installed_wheel_runs_from_outside_the_checkout(dist: Path, tmp_path: Path,
                                                            engine_site: SerpSite) -> None:
    [wheel] = dist.glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                "--quiet", "--no-deps", "--no-index", str(wheel)],
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    # its dependencies come from the test venv (no network): a path line, no editable hook
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "_vipb_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    config = tmp_path / "none.toml"
    config.touch(mode=0o600)
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"), "VIPB_KEYRING": "off",
           "VIPB_CONFIG": str(config), "VIPB_ALLOW_PRIVATE_TARGETS": "1",
           "VIPB_ENGINE_URLS": json.dumps(engine_site.engine_urls()), "PYTHONPATH": ""}
    env.pop("VIPB_MASTER_KEY", None)

    def vipb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "vipb"), *args], cwd="/", env=env,
                              capture_output=True, text=True, timeout=300)

    where = subprocess.run([str(python), "-c", "import adapters.sql, entrypoints; "
                            "print(entrypoints.__file__)"], cwd="/", env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    assert vipb("init").returncode == 0
    engines = vipb("rank", "engines", "--json")
    assert engines.returncode == 0, engines.stderr
    assert {"duckduckgo", "bing", "google"} <= {e["name"] for e in json.loads(engines.stdout)}
    doctor = vipb("doctor", "--json")
    checks = {c["name"]: c["status"] for c in json.loads(doctor.stdout)}
    assert checks["config"] == "ok" and checks["chromium"] == "ok", doctor.stdout
    engine_site.results["tea"] = ["https://www.target.example/tea"]
    assert vipb("rank", "domain", "add", "target.example").returncode == 0
    ran = vipb("rank", "run", "-k", "tea", "--proxy", "direct")
    assert ran.returncode == 0, ran.stderr
    assert "target.example: #1" in ran.stdout
