"""Real Chromium through Playwright: the engine loop, tabs, privacy guard, blocking."""

from ._blocker import TrackerBlocker, read_list, shipped_list
from ._engine import LAUNCH_ARGS, BrowserEngine, browser_environment, sandbox_possible
from ._fonts import FONT_PACKAGES, missing_fonts
from ._guard import guard_script
from ._locate import Chromium, find_chromium
from ._realms import trustworthy
from ._tab import (
    BrowserTab,
    NavigationResult,
    ProxyRoute,
    TabSetup,
    TrackerCounts,
    profile_headers,
)

__all__ = [
    "FONT_PACKAGES",
    "LAUNCH_ARGS",
    "BrowserEngine",
    "BrowserTab",
    "Chromium",
    "NavigationResult",
    "ProxyRoute",
    "TabSetup",
    "TrackerBlocker",
    "TrackerCounts",
    "browser_environment",
    "find_chromium",
    "guard_script",
    "missing_fonts",
    "profile_headers",
    "read_list",
    "sandbox_possible",
    "shipped_list",
    "trustworthy",
]
