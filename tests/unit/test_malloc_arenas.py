"""The process keeps two malloc arenas however many threads allocate (glibc), unless the
user set ``MALLOC_ARENA_MAX`` themselves; counted from glibc's own ``malloc_info``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.malloc import _glibc

# eight threads each build and drop results-page-sized texts, then glibc lists its arenas
PROGRAM = """
import ctypes, sys, threading
from adapters.malloc import limit_arenas, _glibc
if sys.argv[1] == "limit":
    print("taken", limit_arenas(), file=sys.stderr)
barrier = threading.Barrier(8)
def work():
    barrier.wait()  # all alive at once: glibc hands busy arenas' threads new ones
    for i in range(50):
        page = ("x" * 200_000 + str(i)).encode()
        del page
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = _glibc()
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
out = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, out)
libc.fclose(out)
"""

pytestmark = pytest.mark.skipif(_glibc() is None, reason="glibc only")


def _arenas(tmp_path: Path, mode: str, **env: str) -> int:
    report = tmp_path / f"{mode}.xml"
    subprocess.run([sys.executable, "-c", PROGRAM, mode, str(report)], check=True,
                   cwd=Path(__file__).resolve().parents[2],
                   env={k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env)
    return report.read_text().count("<heap nr=")


def test_many_threads_share_two_arenas(tmp_path: Path) -> None:
    assert _arenas(tmp_path, "default") > 2  # what glibc does on its own
    assert _arenas(tmp_path, "limit") <= 2


def test_the_users_own_setting_wins(tmp_path: Path) -> None:
    assert _arenas(tmp_path, "limit", MALLOC_ARENA_MAX="4") > 2
