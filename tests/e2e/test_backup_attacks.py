"""`vipb backup restore` against hostile and damaged backups: nothing outside the data dir is
ever written, nothing inside it is written unless every file checks out, and each refusal
is a one-line error with exit code 2."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import Cli


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def backup(cli: Cli, tmp_path: Path) -> Path:
    """A genuine backup of a data dir holding one proxy."""
    assert cli("init").code == 0
    assert cli("proxy", "add", "http://127.0.0.1:3128").code == 0
    dest = tmp_path / "backup"
    assert cli("backup", "create", str(dest)).code == 0
    return dest


def _tamper(backup: Path, **files: object) -> None:
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["files"].update(files)
    (backup / "manifest.json").write_text(json.dumps(manifest))


def _refused(cli: Cli, backup: Path, target: Path, reason: str) -> None:
    result = cli("backup", "restore", str(backup), VIPB_DATA_DIR=str(target))
    assert result.code == 2, (result.out, result.err)
    assert result.err.count("\n") == 1 and reason in result.err, result.err
    leftovers = sorted(p.name for p in target.iterdir()) if target.exists() else []
    assert leftovers in ([], ["host.lock"]), f"a refused restore wrote {leftovers}"


@pytest.mark.parametrize("name", ["../../OUTSIDE_PWNED.txt", "/tmp/OUTSIDE_PWNED.txt",
                                  "sub/events.sqlite", "..", "events.sqlite-wal",
                                  "views.sqlite", ".bashrc"])
def test_a_manifest_naming_a_path_outside_the_set_is_refused(
        cli: Cli, backup: Path, tmp_path: Path, name: str) -> None:
    payload = b"pwned\n"
    hostile = backup / name
    if ".." in name or name.startswith("/") or "/" in name:
        (tmp_path / "OUTSIDE_PWNED.txt").unlink(missing_ok=True)
    else:
        hostile.write_bytes(payload)
    _tamper(backup, **{name: _digest(payload)})
    target = tmp_path / "restored" / "data"
    _refused(cli, backup, target, "which is not a file a backup holds")
    assert not (tmp_path / "OUTSIDE_PWNED.txt").exists()
    assert not Path("/tmp/OUTSIDE_PWNED.txt").exists()


def test_a_symlink_in_the_backup_is_never_followed(cli: Cli, backup: Path,
                                                   tmp_path: Path) -> None:
    secret = tmp_path / "someone-elses.sqlite"
    shutil.copy(backup / "keys.sqlite", secret)  # a valid database with the same digest
    (backup / "keys.sqlite").unlink()
    os.symlink(secret, backup / "keys.sqlite")
    _refused(cli, backup, tmp_path / "restored", "missing, a symlink or unreadable")


def test_one_damaged_file_means_nothing_is_written(cli: Cli, backup: Path,
                                                  tmp_path: Path) -> None:
    keys = backup / "keys.sqlite"  # events.sqlite (first in the manifest) is intact
    keys.write_bytes(keys.read_bytes()[:-10])
    _refused(cli, backup, tmp_path / "restored", "keys.sqlite in the backup is damaged")


def test_a_file_that_is_not_a_database_is_refused(cli: Cli, backup: Path,
                                                 tmp_path: Path) -> None:
    payload = b"#!/bin/sh\necho pwned\n"
    (backup / "audit.sqlite").write_bytes(payload)
    _tamper(backup, **{"audit.sqlite": _digest(payload)})
    _refused(cli, backup, tmp_path / "restored", "audit.sqlite in the backup is not an SQLite")


@pytest.mark.parametrize("manifest", [b"{not json", b'{"files": []}', b"[]",
                                      b'{"files": {"events.sqlite": "00"}, "store_head": 1}',
                                      b" " * 70_000 + b"{}"])
def test_a_broken_manifest_is_a_one_line_error(cli: Cli, backup: Path, tmp_path: Path,
                                               manifest: bytes) -> None:
    (backup / "manifest.json").write_bytes(manifest)
    _refused(cli, backup, tmp_path / "restored", "manifest")


def test_restore_never_replaces_existing_data(cli: Cli, backup: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"  # the fixture's own data dir, holding a proxy
    kept = ("events.sqlite", "keys.sqlite", "audit.sqlite", "master.key")
    before = {n: (data / n).read_bytes() for n in kept}
    result = cli("backup", "restore", str(backup))
    assert result.code == 2 and "is not empty" in result.err and "move this one aside" in \
        result.err
    assert cli("backup", "restore", str(backup), "--force").code == 2, "--force is gone"
    assert {n: (data / n).read_bytes() for n in kept} == before
    restored = tmp_path / "restored"
    done = cli("backup", "restore", str(backup), "--json", VIPB_DATA_DIR=str(restored),
               VIPB_MASTER_KEY="")
    assert done.code == 0, done.err
    key = (data / "master.key").read_text().strip()
    listed = cli("proxy", "list", "--json", VIPB_DATA_DIR=str(restored), VIPB_MASTER_KEY=key)
    assert [p["port"] for p in listed.json()] == [3128]


@pytest.mark.parametrize("dest", ["/proc/sys/x", "/dev/null/x"])
def test_backup_create_into_an_impossible_place_is_a_one_line_error(cli: Cli, backup: Path,
                                                                   dest: str) -> None:
    result = cli("backup", "create", dest)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert f"cannot create {dest}" in result.err
