"""The engines in use: the shipped definitions plus ``VIPB_ENGINES_DIR``, reloaded on change.

A user fixes a changed results page by editing a file; the next search uses it (no restart;
a host's searches look at the files at most every ``RECHECK`` seconds).
A file that does not hold up is refused with its path, field and reason: searches on its
engine fail with that reason until the file is fixed (an override that breaks does not fall
back to the shipped file unnoticed), and the other engines carry on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.serp._definition import SHIPPED_DIR, read_definitions
from adapters.serp._engines import Engine
from adapters.serp._page import SerpError

log = logging.getLogger(__name__)

# seconds a look at the definition files holds for a host's searches: each look is a dozen
# stat calls, and on a busy host every call that gives up the GIL waits to get it back (a
# twentieth of an HTTP search's time); a file saved is read by the searches after it
RECHECK = 0.25


class UnknownEngineError(SerpError):
    """No definition of that name."""

    code = "unknown_engine"


class Engines:
    """Engine definitions by name, read from disk and re-read when a file changes."""

    def __init__(self, extra_dir: Path | None = None,
                 base_urls: dict[str, str] | None = None, recheck: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``recheck``: seconds a look at the files holds (0: every call looks)."""
        self._extra = extra_dir
        self._recheck = recheck
        self._clock = clock
        self._looked = -float("inf")
        self._urls = dict(base_urls or {})
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._engines: dict[str, Engine] = {}
        self._sources: dict[str, Path] = {}  # the file each engine was read from
        self._problems: dict[str, str] = {}

    def _stat(self) -> tuple[Any, ...]:
        """Each definition file's name, time and size (``os.scandir``: every search asks,
        and it is several times cheaper than globbing and statting paths)."""
        entries: list[Any] = []
        for folder in (SHIPPED_DIR, self._extra):
            if folder is None:
                continue
            try:
                with os.scandir(folder) as found:
                    for entry in found:
                        if entry.name.endswith(".toml"):
                            st = entry.stat()
                            entries.append((entry.path, st.st_mtime_ns, st.st_size))
            except OSError as exc:
                entries.append((str(folder), repr(exc)))
        return tuple(sorted(entries, key=lambda e: e[0]))

    def _refresh(self) -> None:
        if self._recheck:
            now = self._clock()
            if now - self._looked < self._recheck:
                return
            self._looked = now
        signature = self._stat()
        if signature == self._signature:
            return
        self._signature = signature
        definitions, problems = read_definitions(self._extra)
        for problem in problems.values():  # (searches on it fail with this reason)
            log.info("engine definition refused: %s", problem)
        self._problems = problems
        self._engines = {name: Engine(d, self._urls.get(name), version)
                         for name, (d, _path, version) in definitions.items()}
        self._sources = {name: path for name, (_d, path, _v) in definitions.items()}

    def get(self, name: str) -> Engine:
        """The engine called ``name``; ``SerpError`` if its definition file is broken or
        there is no such engine."""
        with self._lock:
            self._refresh()
            if name in self._problems:
                raise SerpError(f"engine definition: {self._problems[name]}")
            found = self._engines.get(name)
            if found is None:
                raise UnknownEngineError(f"unknown engine {name!r} (engines: "
                                         f"{', '.join(sorted(self._engines))})")
            return found

    def names(self) -> list[str]:
        """The engines defined now."""
        with self._lock:
            self._refresh()
            return sorted(self._engines)

    def describe(self) -> list[dict[str, Any]]:
        """Each engine: name, label, base URL, layouts, features and the file it comes
        from; a broken file is listed with its problem."""
        with self._lock:
            self._refresh()
            rows = [{"name": name, "label": e.definition.label, "url": e.base,
                     "layouts": [layout.name for layout in e.definition.layouts],
                     "features": sorted(e.definition.features),
                     "location": e.definition.takes_location, "version": e.version,
                     "source": str(self._sources[name]), "problem": None}
                    for name, e in self._engines.items()]
            rows += [{"name": name, "label": "", "url": "", "layouts": [], "features": [],
                      "location": False, "version": "", "source": "", "problem": problem}
                     for name, problem in self._problems.items()]
            return sorted(rows, key=lambda r: r["name"])
