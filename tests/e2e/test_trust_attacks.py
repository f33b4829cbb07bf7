"""Files another user can write are not trusted (issue 31, points 1 and 2): a config file, a
Chromium executable or a filter list that is not the user's (or root's), or that group or
others can write, is refused before it is used; so is a data dir that belongs to someone
else, with a master key planted in it, directly or through a planted symlink. Before, a
world-writable vipb.toml naming a wrapper "Chromium" ran the wrapper as the vipb user and
`doctor` said "ok config", "ok chromium"."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from adapters.browser import read_list
from domain.errors import SecurityError
from tests.helpers import Cli, cli_runner

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="planting another uid's file needs root")


def _wrapper(folder: Path, marker: Path) -> Path:
    """A "Chromium" that only proves it ran."""
    folder.mkdir(exist_ok=True)
    wrapper = folder / "evilchrome"
    wrapper.write_text(f"#!/bin/sh\ntouch {marker}\necho 'Chromium 150.0.0.0'\n")
    wrapper.chmod(0o755)
    return wrapper


def _doctor(cli: Cli, **env: str) -> dict[str, dict[str, str]]:
    result = cli("doctor", "--json", **env)
    return {c["name"]: c for c in result.json()}


@pytest.mark.parametrize("owner", ["world-writable", pytest.param("nobody", marks=as_root)])
def test_a_config_file_others_can_write_is_refused_and_its_chromium_never_runs(
        cli: Cli, tmp_path: Path, owner: str) -> None:
    assert cli("init").code == 0
    marker = tmp_path / "wrapper-ran"
    wrapper = _wrapper(tmp_path / "x", marker)
    config = tmp_path / "planted.toml"
    config.write_text(f'chromium = "{wrapper}"\nallow_private_targets = true\n')
    if owner == "nobody":
        os.chown(config, NOBODY, NOBODY)
        config.chmod(0o644)
    else:
        config.chmod(0o666)
    checks = _doctor(cli, VIPB_CONFIG=str(config))
    assert checks["config"]["status"] == "fail", checks["config"]
    assert "not using config file" in checks["config"]["detail"]
    listed = cli("proxy", "list", VIPB_CONFIG=str(config))
    assert listed.code == 1 and "not using config file" in listed.err, listed.err
    assert not marker.exists(), "the wrapper never ran"


@pytest.mark.parametrize("owner", ["world-writable", pytest.param("nobody", marks=as_root)])
def test_a_chromium_others_can_write_is_never_run(cli: Cli, tmp_path: Path,
                                                  owner: str) -> None:
    assert cli("init").code == 0
    marker = tmp_path / "wrapper-ran"
    wrapper = _wrapper(tmp_path / "x", marker)
    if owner == "nobody":
        os.chown(wrapper, NOBODY, NOBODY)
    else:
        wrapper.chmod(0o777)
    checks = _doctor(cli, VIPB_CHROMIUM=str(wrapper))
    assert checks["chromium"]["status"] == "fail", checks["chromium"]
    assert "not using Chromium" in checks["chromium"]["detail"]
    assert not marker.exists(), "not even run for --version"


def test_a_filter_list_others_can_write_is_refused(tmp_path: Path) -> None:
    """A filter list decides what tabs load: one others can write (``VIPB_FILTER_LISTS``)
    is refused when it is read."""
    rules = tmp_path / "list.txt"
    rules.write_text("||tracker.example^\n")
    assert "tracker.example" in read_list(str(rules))
    rules.chmod(0o666)
    with pytest.raises(SecurityError, match="not using filter list"):
        read_list(str(rules))


@as_root
@pytest.mark.parametrize("how", ["owned by nobody", "symlink planted by nobody"])
def test_a_data_dir_of_another_user_with_a_planted_key_is_refused(
        cli: Cli, tmp_path: Path, how: str) -> None:
    planted = tmp_path / "attacker"
    attacker = cli_runner(planted)
    assert attacker("init").code == 0
    for path in [planted, *planted.rglob("*")]:
        os.lchown(path, NOBODY, NOBODY)
    if how == "owned by nobody":
        victim_cli = cli_runner(planted)
    else:
        link = tmp_path / "data-link"
        link.symlink_to(planted)
        os.lchown(link, NOBODY, NOBODY)
        victim_cli = cli_runner(link)
    listed = victim_cli("proxy", "list")
    assert listed.code == 1, listed.out
    assert "not to you" in listed.err or "symlink owned by uid" in listed.err, listed.err
    added = victim_cli("proxy", "add", "http://127.0.0.1:3128")
    assert added.code == 1
    shutil.rmtree(planted)
