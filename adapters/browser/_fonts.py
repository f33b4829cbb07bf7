"""The fonts a profile's system has, as Chromium finds them: one fontconfig set per OS family.

Fingerprinting scripts find fonts by measuring text (a family is present when text set in it
is wider or narrower than in the fallback), so what counts is what Chromium's font lookup
returns, not what a script is told. Chromium on Linux asks fontconfig and takes a face only
under the requested name or a metric-compatible one (Skia's list: Arial <- Liberation Sans,
Times New Roman <- Liberation Serif, Courier New <- Liberation Mono, Calibri <- Carlito,
Cambria <- Caladea); metric-compatible means the same advance widths, so text measures as it
would in the real font. Each OS family gets a fontconfig file listing only its fonts (the
files linked into a directory of its own), the aliases that make them answer to the names
that system uses (and not to their own: see ``HIDDEN``), and its tabs run in a Chromium
launched with it (``FONTCONFIG_FILE``): a Windows profile measures Arial and Calibri and no
DejaVu; a macOS profile measures Helvetica and no Calibri; a Linux profile keeps the
machine's own setup. Fonts come from Debian's fonts-liberation2, fonts-crosextra-carlito and
fonts-crosextra-caladea (``scripts/install.sh``); without them, tabs use the machine's fonts.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

SYSTEM = "system"  # the machine's own fontconfig, untouched
NO_SUCH_FAMILY = "vipb-absent"
LIBERATION = ("Liberation Sans", "Liberation Serif", "Liberation Mono")
# the installed families each OS family's set is made of
FONT_FILES: dict[str, tuple[str, ...]] = {
    "windows": (*LIBERATION, "Carlito", "Caladea"),
    "macos": LIBERATION,
    "android": LIBERATION,  # Roboto is not packaged here: sans-serif stays metric-Arial
}
# name the system uses -> the installed family that measures as it
ALIASES: dict[str, dict[str, str]] = {
    "windows": {"Arial": "Liberation Sans", "Times New Roman": "Liberation Serif",
                "Courier New": "Liberation Mono", "Calibri": "Carlito", "Cambria": "Caladea"},
    "macos": {"Helvetica": "Liberation Sans", "Arial": "Liberation Sans",
              "Times": "Liberation Serif", "Times New Roman": "Liberation Serif",
              "Courier": "Liberation Mono", "Courier New": "Liberation Mono"},
    "android": {"Arial": "Liberation Sans", "Times New Roman": "Liberation Serif",
                "Courier New": "Liberation Mono"},
}
# the substitutes' own names, which the system has not. A request naming one of them first
# is rewritten to a family that does not exist, then a face of another metric class: Chromium
# takes a face only under the first family's name or a metric-compatible one, so it turns it
# down and the name measures absent. (Helvetica, Times and Courier measure present on every
# system: Blink itself looks them up as Arial, Times New Roman and Courier New.)
HIDDEN: dict[str, tuple[str, ...]] = {
    "windows": (*LIBERATION, "Carlito", "Caladea"),
    "macos": LIBERATION,
    "android": LIBERATION,
}
# the generic families, as each system's Chrome resolves them by default
GENERIC: dict[str, dict[str, str]] = {
    "windows": {"sans-serif": "Arial", "serif": "Times New Roman", "monospace": "Courier New"},
    "macos": {"sans-serif": "Helvetica", "serif": "Times", "monospace": "Courier"},
    "android": {"sans-serif": "Arial", "serif": "Times New Roman", "monospace": "Courier New"},
}
OS_FAMILY = {"Windows": "windows", "macOS": "macos", "Android": "android", "Linux": SYSTEM}


def font_family(ua_platform: str) -> str:
    """The font set of a profile whose ``userAgentData.platform`` is ``ua_platform``."""
    return OS_FAMILY.get(ua_platform, SYSTEM)


def _files(family: str) -> list[Path]:
    """The installed files of ``family`` (fontconfig's own answer)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, "-f", "%{file}\n", family], capture_output=True,
                             text=True, timeout=30, check=False).stdout
    except OSError:
        return []
    return [Path(line) for line in out.splitlines() if line.strip()]


def _elsewhere(family: str) -> str:
    """A family of another metric class than ``family`` (what a hidden name is answered with)."""
    return "Liberation Serif" if "Mono" in family or family == "Courier" else "Liberation Mono"


FONT_PACKAGES = "fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea"


def missing_fonts() -> list[str]:
    """The families of every set that are not installed (none: every set can be written)."""
    needed = sorted({family for families in FONT_FILES.values() for family in families})
    return [family for family in needed if not _files(family)]


def _config(fonts_dir: Path, cache_dir: Path, name: str) -> str:
    hidden = "".join(
        f'  <match><test qual="first" name="family"><string>{escape(family)}</string></test>'
        f'<edit name="family" mode="assign_replace" binding="strong">'
        f"<string>{NO_SUCH_FAMILY}</string><string>{_elsewhere(family)}</string>"
        f"</edit></match>\n"
        for family in HIDDEN[name])
    aliases = "".join(
        f'  <alias binding="same"><family>{escape(alias)}</family>'
        f"<accept><family>{escape(real)}</family></accept></alias>\n"
        for alias, real in ALIASES[name].items())
    generic = "".join(
        f"  <alias><family>{escape(kind)}</family><prefer><family>{escape(font)}</family>"
        f"</prefer></alias>\n" for kind, font in GENERIC[name].items())
    # rendering as Debian's defaults (conf.d 10-*, 11-*): antialiased, slight hinting
    return f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<!-- written by vipb for {name} profiles: only these fonts, under that system's names -->
<fontconfig>
  <dir>{escape(str(fonts_dir))}</dir>
  <cachedir>{escape(str(cache_dir))}</cachedir>
  <match target="font">
    <edit name="antialias" mode="assign"><bool>true</bool></edit>
    <edit name="hinting" mode="assign"><bool>true</bool></edit>
    <edit name="hintstyle" mode="assign"><const>hintslight</const></edit>
    <edit name="lcdfilter" mode="assign"><const>lcddefault</const></edit>
  </match>
{hidden}{generic}{aliases}</fontconfig>
"""


def font_dir(parent: Path | None = None) -> Path:
    """A new private directory for this process's font sets (``vipb-fonts-<pid>-*`` in the
    temp dir); those of processes that died without cleaning up (killed) are removed first."""
    parent = parent or Path(tempfile.gettempdir())
    for old in parent.glob("vipb-fonts-*"):
        pid = old.name.split("-")[2] if old.name.count("-") >= 3 else ""
        try:
            if not pid.isdigit() or old.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)  # alive (or not ours to signal): keep
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=f"vipb-fonts-{os.getpid()}-", dir=parent))


class FontSets:
    """The fontconfig files of each OS family, written under ``root`` on first use."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._written: dict[str, Path | None] = {}

    def config(self, name: str) -> Path | None:
        """The fontconfig file for ``name``'s profiles, or None: the machine's own (Linux
        profiles, or when the set's fonts are not installed; said once in the log)."""
        if name == SYSTEM or name not in FONT_FILES:
            return None
        if name not in self._written:
            self._written[name] = self._write(name)
        return self._written[name]

    def _write(self, name: str) -> Path | None:
        found = {family: _files(family) for family in FONT_FILES[name]}
        missing = [family for family, files in found.items() if not files]
        if missing:
            log.warning("fonts for %s profiles not installed (%s): their tabs measure the "
                        "machine's fonts (Debian: apt-get install %s)", name,
                        ", ".join(missing), FONT_PACKAGES)
            return None
        base = self._root / name
        fonts_dir, cache_dir = base / "fonts", base / "cache"
        fonts_dir.mkdir(parents=True, exist_ok=True)
        cache_dir.mkdir(exist_ok=True)
        for files in found.values():
            for file in files:
                link = fonts_dir / file.name
                if not link.exists():
                    link.symlink_to(file)
        path = base / "fonts.conf"
        path.write_text(_config(fonts_dir, cache_dir, name), encoding="utf-8")
        return path
