"""Files the CLI writes where the user says (reports, charts, evidence pages, exports): never
through a symlink planted at the name. Each is written to a new file beside it (mode 0600)
and renamed over the name at the end, so a symlink there is replaced, not followed, and a
reader never sees half a file; in a sticky world-writable folder (``/tmp``), another
user's file or symlink at the name makes the write fail instead."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from domain.errors import ValidationError


@contextlib.contextmanager
def replacing(path: Path, field: str = "output") -> Iterator[BinaryIO]:
    """A new file in ``path``'s folder to write; moved over ``path`` when the block ends
    well, removed when it fails. An ``OSError`` is a one-line ``ValidationError``."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror or exc}",
                              field=field) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ValidationError(f"cannot write {path}: {exc.strerror or exc}",
                                  field=field) from None
        raise


def write_output(path: Path, data: bytes, field: str = "output") -> None:
    """``data`` into ``path`` (see ``replacing``)."""
    with replacing(path, field) as handle:
        handle.write(data)


def own_folder(folder: Path, field: str = "output") -> Path:
    """``folder``, created (0700) if missing; refused when it is a symlink (a planted link
    would send the files elsewhere) or not a folder."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ValidationError(f"{folder} is a symlink or not a folder: not writing into it",
                              field=field)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"cannot create {folder}: {exc.strerror or exc}",
                              field=field) from None
    return folder
