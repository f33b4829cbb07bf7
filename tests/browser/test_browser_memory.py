"""What a tab costs in memory (issue 34): no renderer for browser UI no page can see, and a
kept search tab frees what its earlier pages left before the next search."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.browser import BrowserEngine, TabSetup
from adapters.browser._switches import (
    DRIVER_NODE_OPTIONS,
    UNUSED_FEATURES,
    playwright_disabled_features,
)
from adapters.browser._tab import BrowserTab
from adapters.egress import EgressGuard
from adapters.fingerprints import generate_fingerprint
from domain.egress import EgressPolicy
from scripts.fixtures.sites import Site
from scripts.proctree import descendants


@pytest.fixture
def engine() -> Iterator[BrowserEngine]:
    engine = BrowserEngine(egress=EgressGuard(EgressPolicy(allow_private=True)))
    yield engine
    engine.close()


def _open(engine: BrowserEngine, seed: int) -> BrowserTab:
    version = engine.run(engine.locate()).version
    fp = generate_fingerprint(seed, locale="en-US").for_engine(version)
    setup = TabSetup(fingerprint=fp, locale="en-US", timezone="Europe/London",
                     languages=("en-US", "en"))
    return engine.run(BrowserTab(engine, setup).open())


async def _browser_view(engine: BrowserEngine) -> tuple[list[dict[str, Any]], list[str]]:
    """Every target of the running browser, and its own command line."""
    (browser,) = engine.running().values()
    cdp = await browser.new_browser_cdp_session()
    targets = (await cdp.send("Target.getTargets"))["targetInfos"]
    processes = (await cdp.send("SystemInfo.getProcessInfo"))["processInfo"]
    await cdp.detach()
    (pid,) = [p["id"] for p in processes if p["type"] == "browser"]
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return targets, [a for arg in argv for a in arg.split(" ")]  # its title is rewritten


def test_tabs_open_no_browser_ui_and_keep_playwrights_own_switches(
        engine: BrowserEngine, site: Site) -> None:
    tabs = [_open(engine, seed) for seed in (1, 2)]
    for tab in tabs:
        assert engine.run(tab.goto(site.url("/probe.html"))).status == 200
    targets, argv = engine.run(_browser_view(engine))
    pages = [t for t in targets if t["type"] == "page"]
    assert len(pages) == 2
    # Chromium 156 built an omnibox popup and its AI-mode twin per window, each in a
    # renderer of its own per context
    assert not [t for t in targets if t["type"] == "browser_ui"
                or t["url"].startswith("chrome://omnibox")], targets
    disabled = [a for a in argv if a.startswith("--disable-features=")]
    assert disabled, argv
    # Chromium reads the last one: it holds Playwright's list as well as ours
    last = set(disabled[-1].split("=", 1)[1].split(","))
    theirs = playwright_disabled_features()
    assert theirs and "PaintHolding" in theirs
    assert set(theirs) | set(UNUSED_FEATURES) <= last
    for tab in tabs:
        engine.run(tab.close())


def test_a_kept_tab_gives_back_what_its_pages_left_when_it_rests(
        engine: BrowserEngine, site: Site) -> None:
    tab = _open(engine, 3)
    engine.run(tab.goto(site.url("/probe.html")))

    async def used() -> int:
        heap = await tab._session.send("Runtime.getHeapUsage")
        return int(heap["usedSize"])

    baseline = engine.run(used())
    # ~40 MB the page built and let go of (held only weakly): garbage no one collected yet
    engine.run(tab.evaluate("() => { const a = []; for (let i = 0; i < 40; i++) "
                            "a.push(new Array(125000).fill(i + 0.5)); "
                            "window.__left = new WeakRef(a); window.__n = a.length; }"))
    engine.run(tab.rest())
    assert engine.run(tab.evaluate("() => window.__left.deref() === undefined"))
    assert engine.run(used()) < baseline + 5_000_000
    assert engine.run(tab.evaluate("() => window.__n")) == 40  # the page itself untouched
    engine.run(tab.close())
    engine.run(tab.rest())  # a closed tab has nothing to free, and says nothing


def test_the_driver_runs_with_a_small_young_generation_and_the_host_env_is_untouched(
        engine: BrowserEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NODE_OPTIONS", raising=False)
    engine.run(engine.locate())  # starts Playwright's driver
    drivers = [pid for pid in descendants(os.getpid())
               if b"run-driver" in _read(f"/proc/{pid}/cmdline")]
    assert drivers, "Playwright's driver runs under this process"
    environ = _read(f"/proc/{drivers[0]}/environ").split(b"\0")
    assert f"NODE_OPTIONS={DRIVER_NODE_OPTIONS}".encode() in environ
    assert "NODE_OPTIONS" not in os.environ


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""
