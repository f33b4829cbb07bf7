"""Chromium features a headless host has no use for, added to Playwright's own list; and
a smaller young generation for Playwright's driver.

Chromium 156 gives every window (each of our tabs is one) two WebUI pages of browser chrome
that no web page can see or detect: the omnibox popup and its AI-mode variant. With a
context per tab each sits in a renderer process of its own, 25-60 MiB per tab, so two tabs
ran five renderers where three do (measured with ``scripts/bench/peer.py``; the page, its
requests and its fingerprint are untouched: only the browser's own UI is not built).

Chromium honours only the last ``--disable-features`` switch, and Playwright passes its own
list (features that break automation) before ours, so ours repeats Playwright's, read from
the driver that will launch the browser, and adds to it. When the driver's list cannot be
read (a Playwright release that moved it), no switch is added: Playwright's list matters
more than the memory (``tests/browser/test_browser_memory.py`` notices the change).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

# Playwright's driver is a node process relaying every CDP message; V8's default young
# generation (16 MiB semi-spaces) let it hold ~22 MiB more than 2 MiB ones over a run of
# searches (138 -> 116 MiB PSS, peer bench), for a few percent more of its (small) CPU.
# A NODE_OPTIONS the user exported is left alone.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=2"

UNUSED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
_LIST = re.compile(r"disabledFeatures\s*=\s*\[(.*?)\]", re.DOTALL)
_NAME = re.compile(r"""["']([A-Za-z0-9_]+)["']""")
_COMMENT = re.compile(r"//[^\n]*")


def playwright_disabled_features(driver: Path | None = None) -> tuple[str, ...] | None:
    """The features Playwright's driver disables in Chromium, or None when its sources do
    not say (in ``lib/coreBundle.js`` since 1.5x, ``lib/server/chromium/chromiumSwitches.js``
    before)."""
    package = driver or _driver_package()
    if package is None:
        return None
    for name in ("lib/coreBundle.js", "lib/server/chromium/chromiumSwitches.js"):
        try:
            text = (package / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = _LIST.search(text)
        if found:
            names = tuple(dict.fromkeys(_NAME.findall(_COMMENT.sub("", found.group(1)))))
            return names or None
    return None


@functools.cache
def lean_switches() -> tuple[str, ...]:
    """The switches that leave the unused features out, Playwright's own kept."""
    theirs = playwright_disabled_features()
    if theirs is None:
        log.warning("Playwright's disabled Chromium features not found in its driver; "
                    "tabs keep Chromium's omnibox pages (more memory per tab)")
        return ()
    merged = dict.fromkeys((*theirs, *UNUSED_FEATURES))
    return ("--disable-features=" + ",".join(merged),)


def _driver_package() -> Path | None:
    try:
        import playwright
    except ImportError:  # pragma: no cover - a dependency
        return None
    package = Path(playwright.__file__).parent / "driver" / "package"
    return package if package.is_dir() else None
