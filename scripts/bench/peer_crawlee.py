"""The peer's side of ``scripts/bench/peer.py``: crawlee-python reads one results page per
keyword, in crawlee's own venv (this file imports nothing of vipb's and runs there only).

Reads a JSON job on stdin: ``crawler`` ("playwright" or "http"), ``urls`` (keyword -> the
results page URL), ``links`` (CSS selector of the organic result links), ``proxy``,
``concurrency``, ``chromium`` (executable), ``args`` (its launch flags) and ``sandbox``
(whether Chromium's sandbox can run: not as root). Prints JSON: the
result links found per keyword (in page order), how many requests failed, and the seconds
the crawl took.

``playwright``: ``PlaywrightCrawler`` as its docs set it up, an incognito page (its own
context) per request, crawlee's default fingerprints, Debian's Chromium. ``http``:
``ParselCrawler`` on crawlee's curl-impersonate client (Chrome's TLS and HTTP/2 fingerprint).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


async def _run(job: dict[str, Any]) -> dict[str, Any]:
    from crawlee import ConcurrencySettings, Request
    from crawlee.proxy_configuration import ProxyConfiguration

    found: dict[str, list[str]] = {}
    failed: list[str] = []
    n = int(job["concurrency"])
    common: dict[str, Any] = {
        "proxy_configuration": ProxyConfiguration(proxy_urls=[job["proxy"]]),
        "concurrency_settings": ConcurrencySettings(min_concurrency=n, max_concurrency=n,
                                                    desired_concurrency=n),
        "max_request_retries": 2,
    }
    if job["crawler"] == "playwright":
        from crawlee.crawlers import PlaywrightCrawler, PlaywrightCrawlingContext

        crawler: Any = PlaywrightCrawler(
            browser_type="chromium", headless=True, use_incognito_pages=True,
            browser_launch_options={"executable_path": job["chromium"], "args": job["args"],
                                    "chromium_sandbox": job["sandbox"]},
            **common)

        @crawler.router.default_handler  # type: ignore[untyped-decorator]
        async def _page(context: PlaywrightCrawlingContext) -> None:
            found[context.request.user_data["keyword"]] = await context.page.eval_on_selector_all(
                job["links"], "links => links.map(a => a.getAttribute('href'))")
    else:
        from crawlee.crawlers import ParselCrawler, ParselCrawlingContext
        from crawlee.http_clients import CurlImpersonateHttpClient

        crawler = ParselCrawler(http_client=CurlImpersonateHttpClient(), **common)

        @crawler.router.default_handler  # type: ignore[untyped-decorator]
        async def _parsed(context: ParselCrawlingContext) -> None:
            found[context.request.user_data["keyword"]] = context.selector.css(
                job["links"]).xpath("@href").getall()

    @crawler.failed_request_handler  # type: ignore[untyped-decorator]
    async def _failed(context: Any, error: Exception) -> None:
        failed.append(f"{context.request.url}: {error}")

    requests = [Request.from_url(url, user_data={"keyword": keyword})
                for keyword, url in job["urls"].items()]
    start = time.perf_counter()
    await crawler.run(requests)
    return {"found": found, "failed": failed, "seconds": time.perf_counter() - start}


def main() -> None:
    """One crawl, job on stdin, result on stdout."""
    job = json.load(sys.stdin)
    print(json.dumps(asyncio.run(_run(job))))


if __name__ == "__main__":
    main()
