"""Unit tests for the browser side's domain: aggregates, fingerprints, locales, guard, blocker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from adapters.browser import TrackerBlocker, guard_script, shipped_list
from adapters.browser._fonts import font_dir
from adapters.egress import socket_owner
from adapters.fingerprints import COMMON_CORES, MAX_CORES, _cores, generate_fingerprint
from domain.errors import ValidationError
from domain.fingerprint import chromium_brands
from domain.locales import accept_language, languages_for, locale_for, timezone_for
from domain.privacy import PrivacyProfile, profile_id
from domain.tab import BrowsingSession, Tab, session_id


def names(events) -> list[str]:
    return [type(e).__name__ for e in events]


def test_tab_records_navigation_history_and_close() -> None:
    tab = Tab(id=uuid4(), profile_id="p", proxy_id=None, label=None, proxy_reason="direct")
    tab.navigated(url="https://a.example/", status=200, title="A", latency_ms=5.0,
                  proxy_id=None, action="goto")
    tab.navigated(url="https://b.example/", status=200, title="B", latency_ms=5.0,
                  proxy_id=None, action="goto")
    tab.navigated(url="https://a.example/", status=200, title="A", latency_ms=5.0,
                  proxy_id=None, action="back")
    tab.navigation_failed(url="https://c.example/", error="net::ERR_FAILED", proxy_id=None,
                          action="goto")
    tab.close(reason="done")
    assert tab.url == "https://a.example/"
    assert tab.history == ["https://a.example/", "https://b.example/"]  # back is not new
    assert tab.closed
    assert names(tab.collect_events()) == ["TabOpened", "TabNavigated", "TabNavigated",
                                           "TabNavigated", "TabNavigationFailed", "TabClosed"]


def test_a_page_loaded_after_going_back_drops_the_pages_ahead() -> None:
    """As a browser's history does: back, then a new page, and what was ahead is gone."""
    tab = Tab(id=uuid4(), profile_id="p", proxy_id=None, label=None, proxy_reason="direct")

    def went(url: str, action: str) -> None:
        tab.navigated(url=url, status=200, title="", latency_ms=1.0, proxy_id=None,
                      action=action)

    for page in ("https://a.example/", "https://b.example/", "https://c.example/"):
        went(page, "goto")
    went("https://b.example/", "back")
    went("https://a.example/", "back")
    assert (tab.previous_url, tab.next_url) == (None, "https://b.example/")
    went("https://d.example/", "goto")
    assert tab.history == ["https://a.example/", "https://d.example/"]
    assert (tab.previous_url, tab.next_url) == ("https://a.example/", None)
    went("https://d.example/", "reload")
    went("https://d.example/", "restore")
    assert (tab.history, tab.cursor) == (["https://a.example/", "https://d.example/"], 1)


def test_profile_changes_only_what_differs() -> None:
    fp = generate_fingerprint(3).model_dump(mode="json")
    profile = PrivacyProfile(id=profile_id("x"), name="x", fingerprint=fp, locale="en-US",
                             timezone="UTC", follow_proxy_country=False, webrtc="proxied",
                             tracker_blocking=False)
    assert profile.change(webrtc="proxied") is False
    assert profile.change(webrtc="block", tracker_blocking=True) is True
    assert names(profile.collect_events()) == ["PrivacyProfileCreated", "PrivacySettingsChanged"]
    assert profile_id("Berlin") == profile_id("berlin")


def test_sessions_are_unique_by_name_and_saved_as_events() -> None:
    session = BrowsingSession(id=session_id("Morning"), name="Morning")
    session.save(tabs=[{"url": "https://a.example/"}])
    session.loaded(tab_ids=["t1"])
    assert session_id("morning") == session.id
    assert names(session.collect_events()) == ["SessionCreated", "SessionSaved", "SessionLoaded"]


def test_fingerprints_are_reproducible_coherent_and_stamped_with_the_engine() -> None:
    a, b, c = generate_fingerprint(7), generate_fingerprint(7), generate_fingerprint(8)
    assert a == b and a != c
    win = generate_fingerprint(5, ["windows"])
    assert win.platform == "Win32" and win.ua_platform == "Windows"
    stamped = win.for_engine("150.0.7871.100")
    assert "Chrome/150.0.0.0" in stamped.user_agent
    assert ("Chromium", "150") in stamped.brands
    assert ("Chromium", "150.0.7871.100") in stamped.full_version_list
    # the brand list is the running engine's own, GREASE included, whatever the data held
    assert stamped.brands == chromium_brands(150, "Google Chrome", "150")
    assert win.for_engine("156.0.8078.114").brands == [
        ("Not:A-Brand", "8"), ("Chromium", "156"), ("Google Chrome", "156")]
    with pytest.raises(ValidationError, match=r"^os: "):
        generate_fingerprint(1, ["amiga"])


@pytest.mark.parametrize("os_names", [None, ["windows"], ["macos"], ["linux"], ["android"]])
def test_every_drawn_device_is_one_real_chrome_of_a_system_asked_for(os_names) -> None:
    """Drawn from the installed data, whatever its release: its devices no Chrome is are
    drawn again (0.16 gave seed 7 a Linux desktop with a software renderer, and a Mac user
    agent with a Linux platform to seed 5)."""
    wanted = {"windows": "Windows", "macos": "macOS", "linux": "Linux", "android": "Android"}
    asked = {wanted[o] for o in os_names or ["windows", "macos", "linux"]}
    for seed in range(120):
        fp = generate_fingerprint(seed, os_names) if os_names else generate_fingerprint(seed)
        assert fp.faults() == [], (seed, fp.user_agent, fp.platform, fp.webgl_renderer)
        assert fp.ua_platform in asked and 1 <= fp.hardware_concurrency <= MAX_CORES


def test_core_counts_no_device_has_read_as_the_common_one() -> None:
    # an earlier data release held a desktop with 640 cores; the profile failed to load
    assert [_cores(n) for n in (640, 0, None, 12, 128)] == [COMMON_CORES] * 3 + [12, 128]


def test_values_no_single_chrome_presents_are_named() -> None:
    mac = generate_fingerprint(3, ["macos"])
    assert mac.faults() == [] and "Metal" in mac.webgl_renderer
    d3d = "ANGLE (NVIDIA, NVIDIA GeForce RTX 4060 (0x00002882) Direct3D11 vs_5_0 ps_5_0, D3D11)"
    swift = "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)"
    gl = "ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)"

    def faults(**changes: object) -> list[str]:
        return mac.model_copy(update=changes).faults()

    assert faults(platform="Linux x86_64") == [
        "navigator.platform 'Linux x86_64' but the user agent says macOS"]
    assert faults(ua_platform="") == ["userAgentData.platform '' but the user agent says macOS"]
    assert faults(webgl_renderer=swift)[0].startswith("software renderer")
    assert faults(webgl_renderer=gl)[0].startswith("macOS does not draw with")
    assert faults(webgl_renderer=d3d)[0].startswith("macOS does not draw with")
    assert faults(user_agent="Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)")[0].startswith(
        "user agent names no system")
    win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/1.0 Safari/537.36"
    assert faults(user_agent=win, platform="Win32", ua_platform="Windows",
                  webgl_renderer=d3d) == []
    assert faults(user_agent=win, platform="Win32", ua_platform="Windows", webgl_renderer=gl)
    linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/1.0 Safari/537.36"
    assert faults(user_agent=linux, platform="Linux x86_64", ua_platform="Linux",
                  webgl_renderer=gl) == []
    assert faults(user_agent=linux, platform="Linux armv81", ua_platform="Linux",
                  webgl_renderer=gl) == [
        "navigator.platform 'Linux armv81' but the user agent says Linux"]
    # a desktop emulating a phone: DevTools' Nexus 5 on a Windows GPU
    nexus = ("Mozilla/5.0 (Linux; Android 6.0; Nexus 5 Build/MRA58N) AppleWebKit/537.36 "
             "Chrome/1.0 Mobile Safari/537.36")
    phone = {"user_agent": nexus, "ua_platform": "Android", "mobile": True}
    assert faults(**phone, platform="Win32", webgl_renderer=d3d) == [
        "navigator.platform 'Win32' but the user agent says Android",
        f"a desktop GPU on a phone: {d3d[:60]!r}"]
    assert faults(**phone, platform="Linux armv81", webgl_renderer="Adreno (TM) 640") == []
    tablet = {**phone, "user_agent": nexus.replace(" Mobile", "")}
    assert faults(**tablet, platform="Linux armv81", webgl_renderer="Adreno (TM) 640") == [
        "a phone must be Android and say Mobile"]


def test_device_signals_agree_even_for_profiles_stored_before_the_rules() -> None:
    """browserforge's data gives Windows a colour depth of 32, touch points to desktops and
    x86 to Macs with an Apple GPU; tabs present the coherent values, stored or not."""
    mac = generate_fingerprint(3, ["macos"])
    old = mac.model_copy(update={
        "architecture": "x86", "max_touch_points": 10,
        "screen": mac.screen.model_copy(update={"color_depth": 32})})
    shown = old.for_engine("156.0.8078.114").values
    assert (shown.architecture, shown.bitness, shown.max_touch_points) == ("arm", "64", 0)
    assert shown.screen.color_depth == 24 and shown.coherent() == shown
    wide = old.model_copy(update={"screen": mac.screen.model_copy(update={"color_depth": 30})})
    assert wide.coherent().screen.color_depth == 30  # a Mac's wide-gamut display
    intel = old.model_copy(update={"webgl_vendor": "Google Inc. (Intel)"})
    assert intel.coherent().architecture == "x86"
    phone = generate_fingerprint(4, ["android"])
    assert phone.coherent().max_touch_points > 0
    assert phone.model_copy(update={"max_touch_points": 0}).coherent().max_touch_points == 5


def test_webgl_backends_follow_the_claimed_renderer() -> None:
    from domain.webgl import AS_RENDERED, D3D11, METAL_APPLE, METAL_OTHER, OPENGL, webgl_backend

    d3d = "ANGLE (NVIDIA, NVIDIA GeForce RTX 4060 (0x00002882) Direct3D11 vs_5_0 ps_5_0, D3D11)"
    assert webgl_backend(d3d, "NVIDIA", False) is D3D11
    apple = "ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)"
    assert webgl_backend(apple, "Apple", False) is METAL_APPLE
    assert webgl_backend(apple.replace("Apple M2", "Intel(R) UHD 630"), "Intel",
                         False) is METAL_OTHER
    assert webgl_backend("ANGLE (Intel, Mesa Intel(R) UHD (CML GT2), OpenGL 4.6)", "Intel",
                         False) is OPENGL
    swift = "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)"
    assert webgl_backend(swift, "Google", False) is AS_RENDERED
    assert webgl_backend(d3d, "NVIDIA", True) is AS_RENDERED
    # Apple GPUs sample ETC and ASTC; Direct3D does not expose them
    assert "WEBGL_compressed_texture_etc" in D3D11.missing_extensions
    assert not METAL_APPLE.missing_extensions


def test_brand_lists_are_generated_as_chromium_generates_them() -> None:
    # GREASE brands Chromium really sent (the observations and Chromium 156 here)
    assert chromium_brands(146, None, "146")[0] == ("Not-A.Brand", "24")
    assert ("Not.A/Brand", "8") in chromium_brands(147, None, "147")
    assert chromium_brands(156, None, "156") == [("Not:A-Brand", "8"), ("Chromium", "156")]
    assert chromium_brands(157, None, "157") == [("Chromium", "157"), ("Not-A.Brand", "99")]
    # three brands: each entry lands where the major's permutation puts it
    assert chromium_brands(159, "Google Chrome", "159") == [
        ("Google Chrome", "159"), ("Not/A)Brand", "8"), ("Chromium", "159")]
    assert chromium_brands(156, "Google Chrome", "156.0.1.2", full=True)[0] == (
        "Not:A-Brand", "8.0.0.0")


def test_locales_follow_countries() -> None:
    assert (locale_for("DE"), timezone_for("DE")) == ("de-DE", "Europe/Berlin")
    assert (locale_for("US"), timezone_for("US")) == ("en-US", "America/New_York")
    assert languages_for("fr-FR") == ["fr-FR", "fr"]
    assert languages_for("en") == ["en"]
    assert accept_language(["de-DE", "de"]) == "de-DE,de;q=0.9"
    assert accept_language(["en"]) == "en"
    assert accept_language([f"l{i}" for i in range(12)]).endswith("l9;q=0.1,l10;q=0.1,l11;q=0.1")


def test_guard_script_carries_the_profile_as_json() -> None:
    fp = generate_fingerprint(9, ["macos"]).for_engine("150.0.1.2")
    script = guard_script(fp, languages=["nl-NL", "nl"], webrtc="block", token="t0k")
    config = json.loads(script.split("})(", 1)[1].rsplit(");", 1)[0])
    assert config["platform"] == "MacIntel"
    assert config["languages"] == ["nl-NL", "nl"]
    assert (config["webrtc"], config["token"]) == ("block", "t0k")
    # without a token, each script gets a fresh secret one
    other = guard_script(fp).split("})(", 1)[1]
    assert '"token": "' in other and other != guard_script(fp).split("})(", 1)[1]
    assert config["fullVersion"] == "150.0.1.2"
    assert "__VIPB_CONFIG__" not in script


def test_client_hints_go_only_to_origins_chromium_sends_them_to() -> None:
    from adapters.browser._realms import TabIdentity, trustworthy, with_headers

    assert all(trustworthy(u) for u in (
        "https://example.com/w.js", "http://127.0.0.2:8/w.js", "http://[::1]:8/",
        "http://localhost./w.js", "http://api.localhost/w.js", "wss://example.com/"))
    assert not any(trustworthy(u) for u in (
        "http://example.com/w.js", "http://127.0.0.1.evil.example/w.js",
        "http://localhost.evil.example/", "ftp://127.0.0.1.example/", "blob:null/x"))
    tab = TabIdentity("guard", {"User-Agent": "UA"}, {"sec-ch-ua": '"B";v="1"'})
    assert tab.for_url("http://example.com/") == {"User-Agent": "UA"}
    assert tab.for_url("https://example.com/") == {"User-Agent": "UA", "sec-ch-ua": '"B";v="1"'}
    # every header given replaces the request's own, whatever its case; the rest stay
    sent = with_headers({"user-agent": "HeadlessChrome", "Accept": "*/*"}, {"User-Agent": "UA"})
    assert sorted((h["name"], h["value"]) for h in sent) == [("Accept", "*/*"),
                                                               ("User-Agent", "UA")]


def test_only_a_request_accepting_images_first_skips_the_worker_script_check() -> None:
    from adapters.browser._realms import images_only

    # Chromium's favicon request, and a worker script's (as the coherence suite sees them)
    assert images_only({"Accept": "image/jxl,image/avif,image/webp,image/*,*/*;q=0.8"})
    assert images_only({"accept": "IMAGE/webp"})
    assert not images_only({"Accept": "*/*"})
    assert not images_only({"Accept": "text/javascript, image/png"})
    assert not images_only({})


def test_blocker_matches_the_shipped_list() -> None:
    blocker = TrackerBlocker([shipped_list()])
    assert blocker.rules > 5
    assert blocker.blocks("https://www.google-analytics.com/collect?v=1", "https://shop.test/",
                          "xhr")
    assert blocker.blocks("http://127.0.0.1:8000/vipb-test-tracker/t.js", "http://127.0.0.1/",
                          "script")
    assert not blocker.blocks("https://shop.test/app.js", "https://shop.test/", "script")
    assert not blocker.blocks("data:text/plain,x", "https://shop.test/", "other")


def test_the_local_proxy_knows_the_owner_of_a_connection_by_its_4_tuple() -> None:
    import os

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            mine, theirs = client.getsockname(), server.getsockname()
            assert socket_owner(mine, theirs) == os.getuid()
            assert socket_owner(theirs, mine) is not None  # the accepted end, also ours
            assert socket_owner(("127.0.0.2", mine[1]), theirs) is None, \
                "a socket on another loopback address is not this one"


def test_missing_chromium_is_a_clear_error(monkeypatch, tmp_path) -> None:
    import adapters.browser._locate as locate
    from domain.errors import BrowserNotFoundError

    monkeypatch.setattr(locate, "DEBIAN_CANDIDATES", (tmp_path / "no-chromium",))
    with pytest.raises(BrowserNotFoundError, match="apt-get install chromium"):
        locate.find_chromium(None, tmp_path / "no-playwright-build")
    with pytest.raises(BrowserNotFoundError, match="does not exist"):
        locate.find_chromium(tmp_path / "nope")
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'Chromium 150.0.7871.100 built on Debian'\n")
    fake.chmod(0o755)
    found = locate.find_chromium(None, fake)  # Playwright's own build wins when installed
    assert (found.path, found.version, found.major) == (fake, "150.0.7871.100", 150)


def test_font_dirs_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid is dead now
    dead = tmp_path / f"vipb-fonts-{gone.pid}-abc"
    alive = tmp_path / f"vipb-fonts-{os.getppid()}-def"
    other = tmp_path / "vipb-fonts-legacy"
    for d in (dead, alive, other):
        (d / "fonts").mkdir(parents=True)
    made = font_dir(tmp_path)
    assert made.name.startswith(f"vipb-fonts-{os.getpid()}-") and made.is_dir()
    assert not dead.exists() and alive.exists() and other.exists()


def test_a_mobile_profile_is_always_a_phone_never_a_tablet() -> None:
    """browserforge's Android devices include tablets (seed 175 drew one: "Android 10; K"
    without "Mobile", a 866x1386 screen); a mobile search must come from a phone."""
    from adapters.fingerprints import MOBILE_OS, generate_fingerprint

    for seed in (175, *range(60)):
        fp = generate_fingerprint(seed, MOBILE_OS)
        assert " Mobile" in fp.user_agent and fp.mobile, (seed, fp.user_agent)
    assert generate_fingerprint(175, MOBILE_OS) == generate_fingerprint(175, MOBILE_OS)


def test_a_seed_whose_first_draw_has_a_screen_no_chrome_reports_still_makes_a_profile() -> None:
    """Seed 23780 (Windows or macOS) first drew a desktop at devicePixelRatio 5 from
    browserforge's data, and creating the profile failed with "internal error"."""
    fp = generate_fingerprint(23780, ["windows", "macos"])
    assert 0 < fp.screen.pixel_ratio <= 4
    assert fp == generate_fingerprint(23780, ["windows", "macos"])  # still reproducible


def test_the_profiles_view_names_faults_and_never_stops_on_a_stored_fingerprint() -> None:
    from projections.tabs import PrivacyProfilesView

    fp = generate_fingerprint(3, ["windows"]).model_dump(mode="json")
    assert PrivacyProfilesView._fp_columns(fp)[-1] == ""
    linux = PrivacyProfilesView._fp_columns({**fp, "platform": "Linux x86_64"})[-1]
    assert linux == "navigator.platform 'Linux x86_64' but the user agent says Windows"
    odd = PrivacyProfilesView._fp_columns({**fp, "screen": {**fp["screen"], "width": 9}})
    assert odd[-1].startswith("stored values unreadable: ('screen', 'width')")
