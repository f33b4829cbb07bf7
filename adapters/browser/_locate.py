"""Find a Chromium executable and its version without launching a browser."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from adapters.trust import require_trusted
from domain.errors import BrowserNotFoundError

# Debian's /usr/bin/chromium is a shell wrapper; the binary behind it prints less noise.
DEBIAN_CANDIDATES = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))
_VERSION = re.compile(r"(\d+\.\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class Chromium:
    """An executable and the engine version it reports."""

    path: Path
    version: str

    @property
    def major(self) -> int:
        """The engine's major version (what user agents must claim)."""
        return int(self.version.split(".")[0])


def _version_of(path: Path) -> str:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except OSError as exc:
        raise BrowserNotFoundError(f"cannot run {path}: {exc.strerror}") from None
    match = _VERSION.search(out)
    if match is None:
        raise BrowserNotFoundError(f"{path} did not report a Chromium version")
    return match.group(1)


def find_chromium(configured: Path | None = None, playwright_own: Path | None = None) -> Chromium:
    """The configured executable, else Playwright's own build (``playwright_own``, from
    ``playwright.chromium.executable_path``) if installed, else Debian's package."""
    if configured is not None:
        if not configured.is_file():
            raise BrowserNotFoundError(f"VIPB_CHROMIUM={configured} does not exist")
        require_trusted(configured, "Chromium")  # before running it even for --version
        return Chromium(configured, _version_of(configured))
    if playwright_own is not None and playwright_own.is_file():
        require_trusted(playwright_own, "Chromium")
        return Chromium(playwright_own, _version_of(playwright_own))
    for path in DEBIAN_CANDIDATES:
        if path.is_file():
            require_trusted(path, "Chromium")
            return Chromium(path, _version_of(path))
    raise BrowserNotFoundError(
        "no Chromium found: install Debian's package (apt-get install chromium) "
        "or set VIPB_CHROMIUM to a Chromium executable"
    )
