"""Page visits through vipb tabs vs bare Playwright contexts, and memory per open tab.

Both sides load the same local pages (a plain page and a page with an iframe, a canvas and a
dedicated worker) through the same local HTTP proxy (pproxy), with the same number of tabs
working in parallel, each in Debian's Chromium. vipb's side is the whole path: dispatcher,
TabActor, privacy guard (profile, worker guard), proxy from the pool, and a TabNavigated
event committed per visit. Prints visits/min of each and the ratio (goal >= 0.8), then PSS
of the browser's processes per open tab, vipb vs bare (goal <= 1.2x): what ``--keep-open``
more tabs add to as many already open (so both figures are taken with tabs open, and the
start and exit of renderer processes around closed ones do not count), after each side's
pages collected their garbage. With --direct, neither
side has a proxy: bare contexts connect directly, vipb tabs go through their egress guard.
Usage: python -m scripts.bench.tabs [--tabs 4] [--visits 40] [--rounds 3] [--direct] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("VIPB_KEYRING", "off")

from adapters.browser import LAUNCH_ARGS, find_chromium
from adapters.config import Settings
from scripts.fixtures.servers import pproxy
from scripts.fixtures.sites import local_site
from scripts.proctree import descendants, is_chromium, pss_kib
from service.bootstrap import bootstrap
from service.runtime import initialize

PAGES = ("/frame.html", "/probe.html")


def chromium_pss_kib() -> int:
    """PSS of every Chromium process under this one (KiB)."""
    return pss_kib(pid for pid in descendants(os.getpid()) if is_chromium(pid))


async def collect_garbage(browser: Any) -> None:
    """Every open page of ``browser`` collects its garbage now (the same CDP call on both
    sides), so the memory figure is what an open tab keeps, not what loading it left for a
    later collection."""
    for context in browser.contexts:
        for page in context.pages:
            session = await context.new_cdp_session(page)
            try:
                await session.send("HeapProfiler.collectGarbage")
            finally:
                await session.detach()


# --- bare Playwright ---------------------------------------------------------------------------

def profile_geometry(seed: int = 1) -> dict[str, Any]:
    """Viewport, screen and pixel ratio of vipb's bench profile; the bare contexts use the
    same, so both sides paint the same number of pixels."""
    from adapters.fingerprints import generate_fingerprint

    screen = generate_fingerprint(seed, ["windows"]).screen
    return {"viewport": {"width": screen.avail_width,
                         "height": max(200, screen.avail_height - 80)},
            "screen": {"width": screen.width, "height": screen.height},
            "device_scale_factor": screen.pixel_ratio}


async def _bare(base: str, proxy: str | None, tabs: int, visits: int,
                keep_open: int) -> tuple[float, float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(find_chromium().path),
                                          args=list(LAUNCH_ARGS))
        geometry: dict[str, Any] = profile_geometry()
        if proxy is not None:
            geometry["proxy"] = {"server": proxy}
        contexts = [await browser.new_context(**geometry) for _ in range(tabs)]
        pages = [await c.new_page() for c in contexts]

        async def work(page: Any) -> None:
            for i in range(visits):
                await page.goto(base + PAGES[i % len(PAGES)], wait_until="load")

        start = time.perf_counter()
        await asyncio.gather(*(work(pg) for pg in pages))
        rate = tabs * visits / (time.perf_counter() - start) * 60
        for c in contexts:
            await c.close()

        async def open_tabs() -> None:
            for _ in range(keep_open):
                context = await browser.new_context(**geometry)
                await (await context.new_page()).goto(base + PAGES[1], wait_until="load")
            await collect_garbage(browser)

        await open_tabs()  # the first ones: Chromium's spare and shared processes settle
        before = chromium_pss_kib()
        await open_tabs()
        per_tab = (chromium_pss_kib() - before) / keep_open
        await browser.close()
        return rate, per_tab


# --- vipb ----------------------------------------------------------------------------------------

def _ours(root: Path, base: str, proxy_port: int | None, tabs: int, visits: int,
          keep_open: int) -> tuple[float, float]:
    rt = bootstrap(root, settings=Settings(data_dir=root, allow_private_targets=True))
    try:
        d = rt.dispatcher

        def call(channel: str, **payload: Any) -> Any:
            reply = d.dispatch(channel, payload)
            assert reply["success"], reply
            return reply["data"]

        proxy_id = "direct" if proxy_port is None else call(
            "proxy:add", protocol="http", host="127.0.0.1", port=proxy_port,
            max_concurrency=1000)["id"]
        call("privacy:set-fingerprint", profile="bench", seed=1, os=["windows"])
        ids = [call("tab:create", proxy=proxy_id, profile="bench")["id"] for _ in range(tabs)]
        barrier = threading.Barrier(tabs + 1)

        def work(tab_id: str) -> None:
            barrier.wait()
            for i in range(visits):
                call("tab:navigate", tab_id=tab_id, url=base + PAGES[i % len(PAGES)])

        threads = [threading.Thread(target=work, args=(t,)) for t in ids]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        rate = tabs * visits / (time.perf_counter() - start) * 60
        for tab_id in ids:
            call("tab:close", tab_id=tab_id)

        def open_tabs() -> None:
            for _ in range(keep_open):
                call("tab:create", proxy=proxy_id, profile="bench", url=base + PAGES[1])
            for browser in rt.engine.running().values():
                rt.engine.run(collect_garbage(browser))

        open_tabs()  # the first ones: Chromium's spare and shared processes settle
        before = chromium_pss_kib()
        open_tabs()
        per_tab = (chromium_pss_kib() - before) / keep_open
        return rate, per_tab
    finally:
        rt.close()


def main() -> None:
    """Interleaved rounds; medians of each side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=4)
    parser.add_argument("--visits", type=int, default=40, help="visits per tab per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep-open", type=int, default=6,
                        help="tabs opened twice for the memory figure")
    parser.add_argument("--direct", action="store_true",
                        help="no proxy on either side (vipb: through the egress guard)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bare_rates, our_rates, bare_mem, our_mem = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp, local_site() as site, pproxy("http") as proxy:
        proxy_url = None if args.direct else f"http://127.0.0.1:{proxy.port}"
        for n in range(args.rounds):
            rate, mem = asyncio.run(_bare(site.base, proxy_url, args.tabs, args.visits,
                                          args.keep_open))
            bare_rates.append(rate)
            bare_mem.append(mem)
            root = Path(tmp) / f"data{n}"
            initialize(root)
            rate, mem = _ours(root, site.base, None if args.direct else proxy.port,
                              args.tabs, args.visits, args.keep_open)
            our_rates.append(rate)
            our_mem.append(mem)
            if not args.json:
                print(f"round {n + 1}: bare {bare_rates[-1]:.0f}/min, "
                      f"vipb {our_rates[-1]:.0f}/min", flush=True)
    result = {
        "bare_visits_per_min": statistics.median(bare_rates),
        "vipb_visits_per_min": statistics.median(our_rates),
        "bare_pss_mib_per_tab": statistics.median(bare_mem) / 1024,
        "vipb_pss_mib_per_tab": statistics.median(our_mem) / 1024,
    }
    result["visit_ratio"] = result["vipb_visits_per_min"] / result["bare_visits_per_min"]
    result["memory_ratio"] = result["vipb_pss_mib_per_tab"] / result["bare_pss_mib_per_tab"]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bare Playwright contexts:  {result['bare_visits_per_min']:8.0f} visits/min, "
          f"{result['bare_pss_mib_per_tab']:.1f} MiB PSS per open tab")
    print(f"vipb tabs:                 {result['vipb_visits_per_min']:8.0f} visits/min, "
          f"{result['vipb_pss_mib_per_tab']:.1f} MiB PSS per open tab")
    print(f"ratio visits vipb/bare = {result['visit_ratio']:.2f}  (goal >= 0.8)")
    print(f"ratio memory vipb/bare = {result['memory_ratio']:.2f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
