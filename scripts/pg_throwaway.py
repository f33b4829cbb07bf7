"""A throwaway PostgreSQL server: ``initdb`` + ``pg_ctl`` in a temp dir, listening on
127.0.0.1 (and a socket in that dir) only, trust authentication. The tests start one per
session (``fast``: no fsync) and the cluster benchmark one of its own (durable, as deployed).

Our own ~80 lines rather than pytest-postgresql: that plugin runs ``initdb`` as the current
user, which PostgreSQL refuses when it is root (CI runs as root); here the server runs as
the ``postgres`` system user that Debian's package creates when we are root.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from scripts.fixtures.servers import free_port

WHY_MISSING = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
               "`postgresql` package (scripts/install.sh does when run as root)")


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


class PgCluster:
    """One running server; ``new_database()`` gives each test its own database."""

    def __init__(self, bin_dir: Path, fast: bool = True) -> None:
        """``fast``: no fsync (tests); else durable commits, as a real server has them."""
        self._bin = bin_dir
        self._fast = fast
        self.root = Path(tempfile.mkdtemp(prefix="vipb-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as `postgres`
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self._names = itertools.count()

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True,
                       timeout=120)

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        self._run(str(self._bin / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=300 -c shared_buffers=64MB")
        if self._fast:
            options += " -c fsync=off -c full_page_writes=off"
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server (immediately) and remove its files."""
        try:
            self._run(str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin_url(self, dbname: str = "postgres") -> str:
        """A superuser URL (tests only)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        name = f"vipb_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``new_database`` (its connections are ended first)."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
