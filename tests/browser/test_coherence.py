"""The coherence suite: one page asks every kind of realm what it sees (page, same-site and
cross-site iframes, dedicated, nested and blob workers, a worker inside each iframe)
and the server keeps what every request sent; all of it must agree with the stored profile,
and no realm may show a patched function or a trace of the guard."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.browser import FONT_PACKAGES, missing_fonts
from domain.fingerprint import chromium_brands
from domain.locales import accept_language
from domain.webgl import webgl_backend
from scripts.fixtures.servers import tinyproxy
from tests.coherence_site import CoherenceSite, coherence_site
from tests.helpers import call

# Every kind of realm a page can start. Worker scripts get the guard from the browser-wide
# interception, which finds the tab by the target (a worker's worker, a cross-site iframe's
# worker), the page, or a frame in the page's process (the same-site iframe's worker).
REALMS = ("page", "iframe", "iframe-worker", "cross-iframe", "worker", "blob-worker",
          "nested-blob-worker", "nested-worker", "cross-worker", "service-worker",
          "shared-worker", "blob-shared-worker")
# Fonts measured in every realm: the profile's system's common fonts are there (under their
# own names: metric-compatible substitutes), other systems' are not.
FONTS = {
    "windows": ({"Arial", "Times New Roman", "Courier New", "Calibri", "Cambria"},
                {"Helvetica Neue", "Menlo", "DejaVu Sans", "Ubuntu", "Liberation Sans"}),
    "macos": ({"Arial", "Helvetica", "Times", "Times New Roman", "Courier", "Courier New"},
              {"Calibri", "Cambria", "Segoe UI", "DejaVu Sans", "Ubuntu", "Liberation Sans"}),
    "linux": ({"DejaVu Sans", "Liberation Sans", "Arial"}, {"Segoe UI", "Helvetica Neue", "Menlo"}),
}
# An out-of-process iframe cannot take device metrics (CDP: top-level targets only), so its
# process draws text with Chromium's own pixel ratio and hinting: canvas text can differ there.
# Service and shared workers belong to no page at all: Chromium draws their canvas text with
# its default font settings, not a page's (measured: the same text hash in all three, another
# than the page's).
OWN_PIXEL_RATIO = ("cross-iframe", "cross-worker", "service-worker", "shared-worker",
                   "blob-shared-worker")


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
    ("macos", 2, "MacIntel", "macOS"),
    ("linux", 7, "Linux x86_64", "Linux"),
])
def test_every_realm_and_every_request_tell_the_same_profile(
        browser_runtime, coherence: CoherenceSite, os_name: str, seed: int, platform: str,
        ua_platform: str) -> None:
    if missing_fonts() and not os.environ.get("CI"):
        pytest.skip(f"fonts missing: {', '.join(missing_fonts())} (apt-get install "
                    f"{FONT_PACKAGES})")
    rt = browser_runtime
    profile, realms = _gather(rt, coherence, os_name, seed)
    assert sorted(realms) == sorted(REALMS)
    version = rt.engine.chromium.version
    major = version.split(".")[0]
    user_agent = profile["user_agent"].replace("<engine>", f"{major}.0.0.0")
    brands = [f"{b}/{v}" for b, v in chromium_brands(int(major), "Google Chrome", major)]
    full = [f"{b}/{v}" for b, v in
            chromium_brands(int(major), "Google Chrome", version, full=True)]
    page = realms["page"]
    present, absent = FONTS[os_name]
    assert present <= set(page["fonts"]) and not absent & set(page["fonts"]), page["fonts"]
    # document.fonts.check is Chromium's own: it never denies a font that measures present
    assert all(page["fontChecks"][f] is True for f in page["fonts"] if f in page["fontChecks"])
    backend = webgl_backend(profile["webgl_renderer"], _vendor(profile), False)
    limits = {k: list(v) if isinstance(v, tuple) else v for k, v in backend.limits.items()
              if k in page["webglLimits"]["limits"]}
    assert limits, backend.name  # every desktop backend sets some of the probed limits
    # the device: no touch on a desktop, a maximised window with the browser's bars
    assert (profile["touch_points"], page["touchPoints"]) == (0, 0)
    assert page["window"]["touchEvents"] is False
    assert page["screen"]["colorDepth"] == profile["color_depth"] \
        == (30 if os_name == "macos" and profile["color_depth"] == 30 else 24)
    outer, inner = page["window"]["outer"], page["window"]["inner"]
    assert outer[0] >= inner[0] and outer[1] > inner[1], page["window"]
    # voices and devices a desktop has: the system's voices and Google's, one default at most;
    # a microphone, camera and speakers, unnamed, and a site asking for them is refused
    voices = page["voices"]
    assert voices["isVoice"] and voices["taken"] and voices["langs"] > 10, voices
    system = {"windows": ("Microsoft David - English (United States)", 3),
              "macos": ("Samantha", 38), "linux": (None, 0)}[os_name]
    assert (voices["defaults"][:1] or [None])[0] == system[0]
    assert voices["local"] == system[1]
    devices = page["devices"]
    assert devices["kinds"] == ["audioinput", "videoinput", "audiooutput"], devices
    assert (devices["named"], devices["inputs"], devices["asked"]) == (0, 2, "NotAllowedError")
    assert devices["json"] == '{"deviceId":"","kind":"audioinput","label":"","groupId":""}'
    arm = "Apple" in profile["webgl_vendor"]
    assert profile["architecture"] == ("arm" if arm else "x86")
    # Chrome shares on Windows and macOS, not on Linux; nothing is shared without a gesture
    refusals = {False: "NotAllowedError: Failed to execute 'share' on 'Navigator': Must be "
                       "handling a user gesture to perform a share request.",
                True: "AbortError: Share canceled"}  # with a gesture: the sheet was closed
    for name in REALMS:
        seen = realms[name]
        if name in ("page", "iframe", "cross-iframe"):
            share = seen["share"]
            assert share is None if os_name == "linux" else (
                share["can"] == [True, False, False]
                and share["refused"] == refusals[share["gesture"]]), (name, share)
        assert seen["errors"] == [], name
        assert seen["lies"] == [], name
        assert seen["cdp"] is False, name  # nothing shows the debugger (fpscanner's hasCDP)
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
        if name not in OWN_PIXEL_RATIO:
            assert seen["canvas"] == page["canvas"], name  # one profile, one canvas
        if "screen" in seen:
            assert seen["screen"] == page["screen"], name
        assert seen["high"]["architecture"] == profile["architecture"], name
        assert seen["fonts"] == page["fonts"], name
        gl = seen["webglLimits"]
        assert {k: gl["limits"][k] for k in limits} == limits, name
        assert gl["given"], name  # every listed extension is given
        assert not set(gl["extensions"]) & set(backend.missing_extensions), name
        assert gl["etc"] is ("WEBGL_compressed_texture_etc" not in backend.missing_extensions)
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
        assert r.headers["user-agent"] == user_agent, where
        if "sec-ch-ua" in r.headers:
            assert r.headers["sec-ch-ua"] == brand_header, where
            assert r.headers["sec-ch-ua-mobile"] == "?0", where
        if "sec-ch-ua-arch" in r.headers:
            assert r.headers["sec-ch-ua-arch"] == f'"{profile["architecture"]}"', where
        if "sec-ch-ua-platform" in r.headers:
            assert r.headers["sec-ch-ua-platform"] == f'"{ua_platform}"', where
    assert any(r.host.startswith("localhost") and "sec-ch-ua" in r.headers for r in requests)


def test_every_realm_is_guarded_behind_a_proxy_with_credentials(
        browser_runtime, coherence: CoherenceSite, tmp_path) -> None:
    """Worker scripts fetched for another worker or a cross-site iframe go through the proxy
    too, answering its challenge, and still get the guard and the profile's headers."""
    rt = browser_runtime
    profile = call(rt, "privacy:set-fingerprint", profile="behind", seed=5, os=["windows"])
    with tinyproxy(tmp_path, "web", "pa55word") as proxy:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=proxy.port,
                        username="web", password="pa55word")["id"]
        tab = call(rt, "tab:create", url=coherence.url, profile="behind", proxy=proxy_id)
        assert tab["status"] == 200
        realms = rt.tabs().tab(tab["id"]).get().evaluate("window.coherence").get()
    assert {name: (r["platform"], r["cores"]) for name, r in realms.items()} == {
        name: ("Win32", profile["hardware_concurrency"]) for name in REALMS}
    major = rt.engine.chromium.version.split(".")[0]
    user_agent = profile["user_agent"].replace("<engine>", f"{major}.0.0.0")
    assert {r.headers["user-agent"] for r in coherence.seen()} == {user_agent}


def _vendor(profile: dict[str, Any]) -> str:
    return profile["webgl_vendor"].split("(")[-1].rstrip(")")


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
