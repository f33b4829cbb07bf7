"""Back up and restore a data dir, also while the host runs (SQLite's online backup API).

The event store and the audit chain are copied while the group committer is paused (so the
chain never covers an event the copy lacks), then the kept results pages (a page a later
search adds is merely unlinked in the copy) and the data keys: a key created after that
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
import stat
from contextlib import AbstractContextManager, closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.errors import ValidationError

DATABASES = ("events.sqlite", "audit.sqlite", "keys.sqlite", "evidence.sqlite")
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
    try:
        dest.mkdir(mode=0o700, parents=True)
    except OSError as exc:
        raise ValidationError(f"cannot create {dest} ({exc.strerror or exc})",
                              field="dest") from None
    try:
        with pause or contextlib.nullcontext():
            _copy_db(root / "events.sqlite", dest / "events.sqlite")
            if (root / "audit.sqlite").is_file():
                _copy_db(root / "audit.sqlite", dest / "audit.sqlite")
        _copy_db(root / "keys.sqlite", dest / "keys.sqlite")
        if (root / "evidence.sqlite").is_file():  # the pages the events link to
            _copy_db(root / "evidence.sqlite", dest / "evidence.sqlite")
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
        with os.fdopen(os.open(dest / MANIFEST, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600),
                       "w") as handle:  # owner-only whatever the umask, like the files
            handle.write(json.dumps(manifest, indent=2))
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return {"backup": str(dest), **manifest}


RESTORABLE = (*DATABASES, KEY_FILE)  # the only names a manifest may list
ALLOWED_BEFORE_RESTORE = {"host.lock"}  # what `vipb backup restore` itself creates
MAX_MANIFEST_BYTES = 64 * 1024
_SQLITE_HEADER = b"SQLite format 3\x00"
_STAGING = ".restore-staging"


def _read_manifest(src: Path) -> dict[str, Any]:
    """The backup's manifest, checked: plain names from ``RESTORABLE`` with SHA-256 digests."""
    path = src / MANIFEST
    if not src.is_dir() or path.is_symlink() or not path.is_file():
        raise ValidationError(f"{src} is not a vipb backup (no {MANIFEST})", field="src")
    raw = path.read_bytes()[:MAX_MANIFEST_BYTES + 1]
    try:
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValueError("it is too large")
        manifest = json.loads(raw)
        files = manifest["files"]
        if not isinstance(files, dict) or "events.sqlite" not in files:
            raise ValueError("it lists no event store")
        int(manifest["store_head"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"{MANIFEST} in {src} is not a valid manifest ({exc})",
                              field="src") from None
    for name, digest in files.items():
        if name not in RESTORABLE:
            raise ValidationError(f"the manifest lists {name!r}, which is not a file a backup "
                                  f"holds (only {', '.join(RESTORABLE)})", field="src")
        if not (isinstance(digest, str) and len(digest) == 64
                and all(c in "0123456789abcdef" for c in digest)):
            raise ValidationError(f"the manifest's digest of {name} is not a SHA-256",
                                  field="src")
    return dict(manifest)


def _check_empty(root: Path, manifest: dict[str, Any]) -> None:
    """Restore only into a new or empty data dir (its key file may wait there when the
    backup carries none); nothing existing is ever overwritten."""
    if not root.exists():
        return
    if root.is_symlink() or not root.is_dir():
        raise ValidationError(f"{root} is not a directory", field="data_dir")
    allowed = set(ALLOWED_BEFORE_RESTORE)
    if KEY_FILE not in manifest["files"]:
        allowed.add(KEY_FILE)
    present = sorted(p.name for p in root.iterdir() if p.name not in allowed)
    if present:
        raise ValidationError(f"{root} is not empty ({', '.join(present[:3])}"
                              f"{', ...' if len(present) > 3 else ''}); restore into a new "
                              "directory, or move this one aside first", field="data_dir")


def _stage(src: Path, name: str, digest: str, staging: Path) -> None:
    """Copy one file of the backup into ``staging``, hashing what was copied: a regular file
    only (no symlink is followed), and only if its digest is the manifest's."""
    try:
        fd = os.open(src / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise ValidationError(f"{name} in the backup is missing, a symlink or unreadable",
                              field="src") from None
    h = hashlib.sha256()
    with os.fdopen(fd, "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise ValidationError(f"{name} in the backup is not a regular file", field="src")
        dest_fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(dest_fd, "wb") as dest:
            first = True
            for chunk in iter(lambda: source.read(1 << 20), b""):
                if first and name != KEY_FILE and not chunk.startswith(_SQLITE_HEADER):
                    raise ValidationError(f"{name} in the backup is not an SQLite database",
                                          field="src")
                first = False
                h.update(chunk)
                dest.write(chunk)
            dest.flush()
            os.fsync(dest.fileno())
    if h.hexdigest() != digest:
        raise ValidationError(f"{name} in the backup is damaged (its SHA-256 is not the "
                              "manifest's)", field="src")


def restore_backup(src: Path, root: Path) -> dict[str, Any]:
    """Restore the backup ``src`` into the new or empty data dir ``root``.

    The manifest is checked first (plain file names from a fixed set, SHA-256 digests); every
    file is copied into a staging directory and verified there, and only when all of them
    match are they moved into place, so a damaged or hostile backup writes nothing.
    """
    manifest = _read_manifest(src)
    _check_empty(root, manifest)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = root / _STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        for name, digest in manifest["files"].items():
            _stage(src, name, digest, staging)
        for name in manifest["files"]:
            os.replace(staging / name, root / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"restored": str(root), "store_head": int(manifest["store_head"]),
            "files": sorted(manifest["files"]),
            "master_key": "restored" if KEY_FILE in manifest["files"] else
            "not in the backup: supply the original data dir's master key "
            "($CREDENTIALS_DIRECTORY/vipb-master-key, VIPB_MASTER_KEY, the OS keyring, or "
            "master.key in the data dir); `vipb init` will not make a new one"}
