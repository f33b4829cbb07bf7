"""How many malloc arenas the process keeps (glibc).

glibc gives each thread that allocates an arena of its own, up to eight per core, and what
one arena frees the others do not reuse. A host runs dozens of threads (an actor each, the
browser loop, the committer, the fetchers) and each handles results pages of hundreds of
KiB: after 60 such searches its Python held 137 MiB with the default arenas and 91 MiB with
two (``scripts/bench/peer.py``, host side; speed unchanged, as Python's GIL already
serialises nearly all of its allocations). Two arenas is what glibc's own documentation
suggests for processes with many threads.

Set before the threads start; a ``MALLOC_ARENA_MAX`` the user exported wins (glibc read it
at start). Elsewhere than glibc (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

ARENAS = 2
_M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_arenas(count: int = ARENAS) -> bool:
    """Keep at most ``count`` malloc arenas from now on; True when glibc took it."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, count))


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        getattr(libc, "gnu_get_libc_version")  # noqa: B009 - only glibc has it
        getattr(libc, "mallopt")  # noqa: B009
    except (OSError, AttributeError):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc
