"""Name what the file system did to a store write: a full disk, a read-only file system.

SQLite reports a full disk as ``database or disk is full`` only when the database file
itself cannot grow; its WAL and shared-memory files failing to grow give ``disk I/O error``,
and a write on a read-only mount gives ``attempt to write a readonly database`` or, on
opening, ``unable to open database file``. Asking the file system (``statvfs``) says which
it really is, in words a user can act on.
"""

from __future__ import annotations

import os
from pathlib import Path

LOW_SPACE = 64 * 1024  # bytes: less free than this and a write of a few pages cannot land


def storage_problem(path: Path) -> str | None:
    """What keeps the file system holding ``path`` (a file or folder) from taking writes:
    a one-line sentence, or None when it can (the error was something else)."""
    folder = path if path.is_dir() else path.parent
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None
    if stat.f_flag & os.ST_RDONLY:
        return (f"the data in {folder} is on a read-only file system: vipb needs to write "
                "there (remount it read-write, or use another data dir)")
    free = stat.f_bavail * stat.f_frsize
    if free < LOW_SPACE or (stat.f_files and stat.f_favail == 0):
        what = "no inodes left" if free >= LOW_SPACE else f"{free} bytes free"
        return (f"the disk holding {folder} is full ({what}): free some space; waiting "
                "writes go on by themselves once there is room")
    return None

