"""The coherence suite: one page asks every kind of realm what it sees (page, same-site and
cross-site iframes, dedicated, nested and blob workers, a worker inside the cross-site iframe)
and the server keeps what every request sent; all of it must agree with the stored profile,
and no realm may show a patched function or a trace of the guard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.fingerprint import chromium_brands
from domain.locales import accept_language
from tests.browser.helpers import call
from tests.coherence_site import CoherenceSite, coherence_site

# Realms the guard reaches in script. A worker started by a worker from an http URL, and a
# worker inside a cross-site iframe, are fetched outside the page's interception: issue 12
# point 2 keeps them open, so they are only required to answer here.
GUARDED = ("page", "iframe", "cross-iframe", "worker", "blob-worker", "nested-blob-worker")
ALL_REALMS = (*GUARDED, "nested-worker", "cross-worker")
UNREACHED_SCRIPTS = ("/coh/worker.js?name=nested-worker",)


@pytest.fixture
def coherence() -> Iterator[CoherenceSite]:
    """The coherence site."""
    with coherence_site() as site:
        yield site


def _gather(rt: Any, site: CoherenceSite, os_name: str, seed: int) -> tuple[dict, dict]:
    profile = call(rt, "privacy:set-fingerprint", profile=os_name, seed=seed, os=[os_name],
                   locale="de-DE", timezone="Europe/Berlin")
    tab = call(rt, "tab:create", url=site.url, profile=os_name, proxy="direct")
    assert tab["status"] == 200
    realms = rt.tabs().tab(tab["id"]).get().evaluate("window.coherence").get()
    return profile, realms


@pytest.mark.parametrize(("os_name", "seed", "platform", "ua_platform"), [
    ("windows", 5, "Win32", "Windows"),
    ("macos", 6, "MacIntel", "macOS"),
    ("linux", 7, "Linux x86_64", "Linux"),
])
def test_every_realm_and_every_request_tell_the_same_profile(
        browser_runtime, coherence: CoherenceSite, os_name: str, seed: int, platform: str,
        ua_platform: str) -> None:
    rt = browser_runtime
    profile, realms = _gather(rt, coherence, os_name, seed)
    assert sorted(realms) == sorted(ALL_REALMS)
    version = rt.engine.chromium.version
    major = version.split(".")[0]
    user_agent = profile["user_agent"].replace("<engine>", f"{major}.0.0.0")
    brands = [f"{b}/{v}" for b, v in chromium_brands(int(major), "Google Chrome", major)]
    full = [f"{b}/{v}" for b, v in
            chromium_brands(int(major), "Google Chrome", version, full=True)]
    page = realms["page"]
    for name in GUARDED:
        seen = realms[name]
        assert seen["errors"] == [], name
        assert seen["lies"] == [], name
        assert seen["globals"] == [], name
        assert (seen["userAgent"], seen["platform"]) == (user_agent, platform), name
        assert seen["cores"] == profile["hardware_concurrency"], name
        assert seen["memory"] == profile["device_memory"], name
        assert seen["languages"] == ["de-DE", "de"] and seen["language"] == "de-DE", name
        assert (seen["timezone"], seen["locale"]) == ("Europe/Berlin", "de-DE"), name
        assert seen["brands"] == brands, name
        assert (seen["uaPlatform"], seen["mobile"]) == (ua_platform, False), name
        assert seen["high"]["fullVersionList"] == full, name
        assert seen["high"]["uaFullVersion"] == version, name
        assert seen["webgl"] == {"vendor": profile["webgl_vendor"],
                                 "renderer": profile["webgl_renderer"]}, name
        if name != "cross-iframe":  # its own pixel ratio (no device metrics): point 5, open
            assert seen["canvas"] == page["canvas"], name  # one profile, one canvas
        if "screen" in seen:
            assert seen["screen"] == page["screen"], name
        assert seen["fontChecks"] == page["fontChecks"], name
    # what the server saw: every request in the profile's words
    requests = coherence.seen()
    assert {r.path.split("?")[0] for r in requests} >= {
        "/coh/index.html", "/coh/frame.html", "/coh/worker.js", "/coh/realm.js"}
    brand_header = ", ".join(f'"{b}";v="{v}"'
                             for b, v in chromium_brands(int(major), "Google Chrome", major))
    for r in requests:
        where = f"{r.host}{r.path}"
        assert r.headers["accept-language"] == accept_language(["de-DE", "de"]), where
        if r.path not in UNREACHED_SCRIPTS:
            assert r.headers["user-agent"] == user_agent, where
        if "sec-ch-ua" in r.headers:
            assert r.headers["sec-ch-ua"] == brand_header, where
            assert r.headers["sec-ch-ua-mobile"] == "?0", where
        if "sec-ch-ua-platform" in r.headers:
            assert r.headers["sec-ch-ua-platform"] == f'"{ua_platform}"', where
    assert any(r.host.startswith("localhost") and "sec-ch-ua" in r.headers for r in requests)


def test_generated_brands_are_the_running_chromiums_own(browser_runtime,
                                                        coherence: CoherenceSite) -> None:
    """Without any override, Chromium lists its brands; ours come from the same rule."""
    rt = browser_runtime

    async def bare_brands() -> list[str]:
        context = await (await rt.engine.browser()).new_context()
        try:
            page = await context.new_page()
            await page.goto(coherence.url)  # a secure context: loopback
            brands: list[str] = await page.evaluate(
                "navigator.userAgentData.brands.map(b => b.brand + '/' + b.version)")
            return brands
        finally:
            await context.close()

    seen = rt.engine.run(bare_brands())
    assert rt.engine.chromium is not None
    major = int(rt.engine.chromium.version.split(".")[0])
    assert seen == [f"{b}/{v}" for b, v in chromium_brands(major, None, str(major))]
