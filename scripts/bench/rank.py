"""Keywords tracked per minute through vipb vs bare Playwright, on the same local engine.

Both sides search the same keywords on a local search engine (Google-style result pages,
two pages per keyword) through the same local HTTP proxy (pproxy), two searches at a time,
in Debian's Chromium. Bare Playwright opens a fresh context per keyword (as a rank tracker
must, so one search's cookies do not colour the next), loads the pages, and reads them with
the same engine definition. vipb's side is the whole path: start-search through the
dispatcher, the tracker's queue, a search worker per keyword, a tab per attempt (privacy
profile, proxy picked by the rotation engine), and every event recorded (queued, started,
positions, completed) and every results page kept as evidence (zstd, content-addressed).
Pages are padded to ``--page-kib`` (real results pages without their scripts are a few
hundred KiB) so what keeping them costs is measured. Prints keywords/min of each, the ratio
(goal >= 0.8), and the evidence stored per search.
Usage: python -m scripts.bench.rank [--keywords 40] [--rounds 3] [--page-kib 400] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("VIPB_KEYRING", "off")

from adapters.browser import LAUNCH_ARGS, find_chromium
from adapters.config import Settings
from adapters.serp import Engines
from scripts.fixtures.serp_site import SerpSite, serp_site
from scripts.fixtures.servers import pproxy
from service.bootstrap import bootstrap
from service.runtime import initialize

from .tabs import profile_geometry

CONCURRENCY = 2
DEPTH = 20  # two result pages of ten


def _keywords(site: SerpSite, count: int, round_no: int) -> list[str]:
    words = [f"keyword {round_no} {i}" for i in range(count)]
    for i, word in enumerate(words):
        results = [f"https://site{j}.example/{i}" for j in range(25)]
        results[(i * 7) % 20] = f"https://www.target.example/{i}"
        site.results[word] = results
    return words


async def _bare(site: SerpSite, proxy: str, words: list[str]) -> float:
    from playwright.async_api import async_playwright

    engine = Engines(base_urls=site.engine_urls()).get("google")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(find_chromium().path),
                                          args=list(LAUNCH_ARGS))
        geometry: dict[str, Any] = {**profile_geometry(), "proxy": {"server": proxy}}
        gate = asyncio.Semaphore(CONCURRENCY)
        found: list[int | None] = []

        async def search(word: str) -> None:
            async with gate:
                context = await browser.new_context(**geometry)
                page = await context.new_page()
                urls: list[str] = []
                pages = 0
                while len(urls) < DEPTH:
                    response = await page.goto(engine.url(word, len(urls), None, pages),
                                               wait_until="load")
                    assert response is not None and response.ok
                    parsed = engine.parse(await page.content(), page.url)
                    urls += parsed.urls
                    pages += 1
                    if not parsed.has_next:
                        break
                await context.close()
                hits = [i for i, u in enumerate(urls[:DEPTH], 1) if "target.example" in u]
                found.append(hits[0] if hits else None)

        start = time.perf_counter()
        await asyncio.gather(*(search(w) for w in words))
        elapsed = time.perf_counter() - start
        await browser.close()
    assert len(found) == len(words) and all(found), "bare: every keyword ranked"
    return len(words) / elapsed * 60


def _ours(root: Path, site: SerpSite, proxy_port: int,
          words: list[str]) -> tuple[float, dict[str, int]]:
    settings = Settings(data_dir=root, allow_private_targets=True,
                        engine_urls=site.engine_urls(), search_concurrency=CONCURRENCY)
    rt = bootstrap(root, settings=settings)
    try:
        def call(channel: str, **payload: Any) -> Any:
            reply = rt.dispatcher.dispatch(channel, payload)
            assert reply["success"], reply
            return reply["data"]

        proxy_id = call("proxy:add", protocol="http", host="127.0.0.1", port=proxy_port,
                        max_concurrency=1000)["id"]
        call("automation:add-domain", domain="target.example")
        for word in words:
            call("automation:add-keyword", keyword=word, engine="google", depth=DEPTH)
        call("privacy:set-fingerprint", profile="default", seed=1, os=["windows"])
        # the bare side launches Chromium before its clock starts; a host has it running too
        warm = call("tab:create", proxy=proxy_id)["id"]
        call("tab:close", tab_id=warm)
        start = time.perf_counter()
        ids = [t["id"] for t in call("automation:start-search")["tasks"]]
        for event in rt.tracker.completion(ids).get():
            assert event.wait(600), "vipb: a search did not finish"
        elapsed = time.perf_counter() - start
        done = call("automation:get-results", task_ids=ids)
        assert all(t["state"] == "completed" and t["positions"][0]["position"] for t in done), \
            "vipb: every keyword ranked"
        assert all(len(t["evidence"]) == 2 for t in done), "vipb: both pages kept"
        return len(words) / elapsed * 60, rt.evidence.usage()
    finally:
        rt.close()


def main() -> None:
    """Interleaved rounds; medians of each side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=40, help="keywords per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-kib", type=int, default=400,
                        help="size each results page is padded to")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bare, ours, stored, read = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp, serp_site() as site, pproxy("http") as proxy:
        site.padding = args.page_kib * 1024
        for n in range(args.rounds):
            words = _keywords(site, args.keywords, n)
            bare.append(asyncio.run(_bare(site, f"http://127.0.0.1:{proxy.port}", words)))
            root = Path(tmp) / f"data{n}"
            initialize(root)
            rate, usage = _ours(root, site, proxy.port, words)
            ours.append(rate)
            stored.append(usage["stored_bytes"] / len(words))
            read.append(usage["page_bytes"] / len(words))
            if not args.json:
                print(f"round {n + 1}: bare {bare[-1]:.1f}/min, vipb {ours[-1]:.1f}/min, "
                      f"evidence {stored[-1] / 1024:.0f} KiB/search", flush=True)
    result = {"bare_keywords_per_min": statistics.median(bare),
              "vipb_keywords_per_min": statistics.median(ours),
              "evidence_bytes_per_search": statistics.median(stored),
              "page_bytes_per_search": statistics.median(read)}
    result["ratio"] = result["vipb_keywords_per_min"] / result["bare_keywords_per_min"]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bare Playwright: {result['bare_keywords_per_min']:.1f} keywords/min "
          f"({CONCURRENCY} at a time, {DEPTH} results each, through a local proxy)")
    print(f"vipb:            {result['vipb_keywords_per_min']:.1f} keywords/min "
          "(tracker, workers, tabs, rotation, events)")
    print(f"ratio: {result['ratio']:.2f} (goal >= 0.8)")
    print(f"evidence: {result['evidence_bytes_per_search'] / 1024:.1f} KiB stored per search "
          f"(2 pages, {result['page_bytes_per_search'] / 1024:.0f} KiB as read; zstd)")


if __name__ == "__main__":
    main()
