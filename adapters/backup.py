"""Back up and restore a data dir, also while the host runs (SQLite's online backup API).

The event store and the audit chain are copied while the group committer is paused (so the
chain never covers an event the copy lacks), then the data keys: a key created after that
moment is merely unused, and a key destroyed after it belongs to a removal that is not in the
copy either, so every event in the copy keeps its key. The read models are not copied: a
restored data dir rebuilds them from its events (a copy of the views could be ahead of the
copied store).
The master key is not copied unless asked: keep it apart from the backups of the data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import AbstractContextManager, closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.errors import ValidationError

DATABASES = ("events.sqlite", "audit.sqlite", "keys.sqlite")
DERIVED = ("views.sqlite",)  # rebuilt from the events after a restore
KEY_FILE = "master.key"
MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _copy_db(src: Path, dest: Path) -> None:
    with closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)) as source, \
            closing(sqlite3.connect(dest)) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    os.chmod(dest, 0o600)


def create_backup(root: Path, dest: Path, *, include_key: bool = False,
                  pause: AbstractContextManager[None] | None = None) -> dict[str, Any]:
    """Copy the data dir's databases (and, if asked, the key file) into ``dest`` (new)."""
    if dest.exists():
        raise ValidationError(f"{dest} already exists; give a new directory", field="dest")
    if not (root / "events.sqlite").is_file():
        raise ValidationError(f"{root} holds no event store", field="data_dir")
    dest.mkdir(mode=0o700, parents=True)
    try:
        with pause or contextlib.nullcontext():
            _copy_db(root / "events.sqlite", dest / "events.sqlite")
            if (root / "audit.sqlite").is_file():
                _copy_db(root / "audit.sqlite", dest / "audit.sqlite")
        _copy_db(root / "keys.sqlite", dest / "keys.sqlite")
        files = [name for name in DATABASES if (dest / name).is_file()]
        if include_key and (root / KEY_FILE).is_file():
            shutil.copy2(root / KEY_FILE, dest / KEY_FILE)
            os.chmod(dest / KEY_FILE, 0o600)
            files.append(KEY_FILE)
        with closing(sqlite3.connect(dest / "events.sqlite")) as conn:
            head = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()[0]
        manifest = {"created_at": datetime.now(UTC).isoformat(), "source": str(root),
                    "store_head": head, "includes_master_key": KEY_FILE in files,
                    "files": {name: _sha256(dest / name) for name in files}}
        (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return {"backup": str(dest), **manifest}


def restore_backup(src: Path, root: Path, *, force: bool = False) -> dict[str, Any]:
    """Check a backup's manifest and copy it into the data dir ``root``."""
    manifest_path = src / MANIFEST
    if not manifest_path.is_file():
        raise ValidationError(f"{src} is not a vipb backup (no {MANIFEST})", field="src")
    manifest = json.loads(manifest_path.read_text())
    for name, digest in manifest["files"].items():
        if not (src / name).is_file() or _sha256(src / name) != digest:
            raise ValidationError(f"{name} in the backup is missing or damaged", field="src")
    if (root / "events.sqlite").exists() and not force:
        raise ValidationError(f"{root} already holds data; pass --force to replace it",
                              field="data_dir")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in (*DATABASES, *DERIVED):  # no stale database or WAL may outlive the restore
        for suffix in ("", "-wal", "-shm"):
            (root / f"{name}{suffix}").unlink(missing_ok=True)
    for name in manifest["files"]:
        shutil.copy2(src / name, root / name)
        os.chmod(root / name, 0o600)
    return {"restored": str(root), "store_head": manifest["store_head"],
            "files": sorted(manifest["files"]),
            "master_key": "restored" if manifest["includes_master_key"] else
            "not in the backup: supply the original data dir's master key "
            "($CREDENTIALS_DIRECTORY/vipb-master-key, VIPB_MASTER_KEY, the OS keyring, or "
            "master.key in the data dir); `vipb init` will not make a new one"}
