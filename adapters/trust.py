"""Whether a file vipb acts on can be trusted, as ssh and sudo decide it: a config file, a
Chromium executable or a filter list runs or steers vipb with the user's rights, so one that
someone else can write is refused; a data dir (and its master key) must be the user's own.

A file is trusted when it and the folder holding it belong to the user or to root and
neither is writable by group or others (a sticky folder such as ``/tmp`` may be, when the
file is the user's: others cannot replace it there).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from domain.errors import SecurityError


def untrusted(path: Path) -> str | None:
    """Why ``path`` (followed to what it names) cannot be trusted, or None."""
    me = os.getuid()
    try:
        real = path.resolve(strict=True)
        info = real.stat()
    except OSError:
        return None  # missing: whoever reads it says so
    if info.st_uid not in (me, 0):
        return f"{path} belongs to uid {info.st_uid}, not to you or root"
    if info.st_mode & 0o022:
        return (f"{path} is writable by group or others (mode "
                f"{stat.S_IMODE(info.st_mode):o}): chmod go-w {real}")
    folder = real.parent.stat()
    sticky = folder.st_mode & stat.S_ISVTX and info.st_uid == me
    if folder.st_uid not in (me, 0) or (folder.st_mode & 0o022 and not sticky):
        return f"{path} is in {real.parent}, which others can write: move it"
    if path.is_symlink():
        link_folder = path.parent.resolve().stat()
        if link_folder.st_mode & 0o022 and not link_folder.st_mode & stat.S_ISVTX:
            return f"{path} is a symlink in a folder others can write"
    return None


def require_trusted(path: Path, what: str) -> None:
    """Refuse ``path`` (a ``what``: config file, Chromium, filter list) that is not trusted."""
    problem = untrusted(path)
    if problem is not None:
        raise SecurityError(f"not using {what} {problem}")


def require_own_data_dir(root: Path) -> None:
    """Refuse a data dir that is not the user's own: owned by someone else (with a master
    key planted in it, every command would run with theirs), or reached through a symlink
    someone else planted."""
    me = os.getuid()
    try:
        link = root.lstat()
        real = root.resolve(strict=True).stat()
    except OSError:
        return  # not there yet: init creates it
    if root.is_symlink() and link.st_uid not in (me, 0):
        raise SecurityError(f"the data dir {root} is a symlink owned by uid {link.st_uid}: "
                            "not using it")
    if real.st_uid != me:
        raise SecurityError(f"the data dir {root} belongs to uid {real.st_uid}, not to you: "
                            "run vipb as its owner, or use another data dir")
