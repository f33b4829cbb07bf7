"""Privacy profiles in real Chromium: the page, its iframes and its workers see the profile;
profiles differ from each other and stay the same across reloads and restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pykka
import pytest

from scripts.fixtures.sites import Site
from tests.helpers import FRAME_PROBE, call, evaluate, open_runtime, png_pixels, refuse


def _probes(rt, tab_id: str) -> tuple[dict, dict, dict]:
    page = evaluate(rt, tab_id, "window.pageProbe")
    frame = evaluate(rt, tab_id, FRAME_PROBE)
    worker = evaluate(rt, tab_id, "window.workerProbe")
    return page, frame, worker


def test_page_iframe_and_worker_present_the_profile(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    profile = call(rt, "privacy:set-fingerprint", profile="alpha", seed=11, os=["windows"],
                   locale="de-DE", timezone="Europe/Berlin")
    tab = call(rt, "tab:create", url=site.url("/probe.html"), profile="alpha", proxy="direct")
    assert tab["status"] == 200
    page, frame, worker = _probes(rt, tab["id"])
    engine_major = rt.engine.chromium.version.split(".")[0]
    for seen in (page, frame, worker):
        assert seen["platform"] == "Win32"
        assert seen["hardwareConcurrency"] == profile["hardware_concurrency"]
        assert seen["languages"] == ["de-DE", "de"]
        assert seen["timezone"] == "Europe/Berlin"
        assert seen["webglVendor"] == profile["webgl_vendor"]
        assert seen["webglRenderer"] == profile["webgl_renderer"]
        assert f"Chrome/{engine_major}." in seen["userAgent"]
        assert "Headless" not in seen["userAgent"]
        assert f"Chromium/{engine_major}" in seen["brands"]
        assert seen["toStringNative"] == "function get platform() { [native code] }"
    width, height = (int(v) for v in profile["screen"].split("x"))
    assert page["screen"][:2] == [width, height]
    assert frame["screen"] == page["screen"]
    assert page["canvasHash"] == frame["canvasHash"]  # same drawing, same profile noise


def test_overrides_look_native(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    tab = call(rt, "tab:create", url=site.url("/probe.html"), proxy="direct")
    checks = evaluate(rt, tab["id"], """() => {
        const d = Object.getOwnPropertyDescriptor(Navigator.prototype, 'hardwareConcurrency');
        let illegal = false;
        try { d.get.call({}); } catch (e) { illegal = e instanceof TypeError; }
        return {
          toString: Function.prototype.toString.toString(),
          getParameter: WebGLRenderingContext.prototype.getParameter.toString(),
          getParameterName: WebGLRenderingContext.prototype.getParameter.name,
          getParameterLength: WebGLRenderingContext.prototype.getParameter.length,
          toDataURL: HTMLCanvasElement.prototype.toDataURL.toString(),
          worker: Worker.toString(),
          illegalInvocation: illegal,
          webdriver: navigator.webdriver,
        };
    }""")
    assert checks == {
        "toString": "function toString() { [native code] }",
        "getParameter": "function getParameter() { [native code] }",
        "getParameterName": "getParameter",
        "getParameterLength": 1,
        "toDataURL": "function toDataURL() { [native code] }",
        "worker": "function Worker() { [native code] }",
        "illegalInvocation": True,
        "webdriver": False,
    }


def test_blob_workers_present_the_profile(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="blobby", seed=5, os=["macos"])
    tab = call(rt, "tab:create", url=site.url("/frame.html"), profile="blobby", proxy="direct")
    platform = evaluate(rt, tab["id"], """() => new Promise(resolve => {
        const src = "postMessage([navigator.platform, navigator.hardwareConcurrency])";
        const w = new Worker(URL.createObjectURL(new Blob([src], {type: 'text/javascript'})));
        w.onmessage = e => resolve(e.data);
    })""")
    page = evaluate(rt, tab["id"], "[navigator.platform, navigator.hardwareConcurrency]")
    assert platform == page
    assert page[0] == "MacIntel"


def test_two_profiles_differ_and_each_is_stable_across_reloads_and_restarts(
        data_dir: Path, site: Site) -> None:
    rt = open_runtime(data_dir)
    try:
        call(rt, "privacy:set-fingerprint", profile="one", seed=1, os=["windows"])
        call(rt, "privacy:set-fingerprint", profile="two", seed=2, os=["windows"])
        one = call(rt, "tab:create", url=site.url("/probe.html"), profile="one", proxy="direct")
        two = call(rt, "tab:create", url=site.url("/probe.html"), profile="two", proxy="direct")
        first_one = evaluate(rt, one["id"], "window.pageProbe")
        first_two = evaluate(rt, two["id"], "window.pageProbe")
        worker_one = evaluate(rt, one["id"], "window.workerProbe")
        worker_two = evaluate(rt, two["id"], "window.workerProbe")
        assert first_one["canvasHash"] != first_two["canvasHash"]  # different noise seeds
        assert worker_one["canvasHash"] != worker_two["canvasHash"]  # in workers too
        assert (first_one["hardwareConcurrency"], first_one["webglRenderer"]) != (
            first_two["hardwareConcurrency"], first_two["webglRenderer"]) or \
            first_one["screen"] != first_two["screen"]
        call(rt, "tab:reload", tab_id=one["id"])
        assert evaluate(rt, one["id"], "window.pageProbe") == first_one
        assert evaluate(rt, one["id"], "window.workerProbe") == worker_one
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    rt = open_runtime(data_dir)  # a new process would see the same: state is in the store
    try:
        again = call(rt, "tab:create", url=site.url("/probe.html"), profile="one",
                     proxy="direct")
        assert evaluate(rt, again["id"], "window.pageProbe") == first_one
        assert evaluate(rt, again["id"], "window.workerProbe") == worker_one
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_profile_commands_reject_bad_input_and_write_nothing(browser_runtime) -> None:
    rt = browser_runtime
    head = rt.app.recorder.max_notification_id()
    assert refuse(rt, "privacy:set-fingerprint", profile="<script>x") .startswith("profile:")
    assert refuse(rt, "privacy:set-fingerprint", profile="p", os=["amiga"]).startswith("os.0:")
    assert refuse(rt, "privacy:toggle-webrtc", profile="p", mode="leaky").startswith("mode:")
    assert "no privacy profile" in refuse(rt, "privacy:toggle-webrtc", profile="nope",
                                          mode="block")
    assert rt.app.recorder.max_notification_id() == head
    call(rt, "privacy:set-fingerprint", profile="p", seed=3)
    assert "exists" in refuse(rt, "privacy:set-fingerprint", profile="p", seed=4)


@pytest.mark.parametrize("blocking", [True, False])
def test_service_and_shared_workers_run_guarded_and_blocked_like_the_page(
        browser_runtime, site: Site, blocking: bool) -> None:
    """As in Chrome, a service worker registers and a shared worker runs; the shared worker
    (which no tab's session reaches) presents the profile and its trackers are blocked when
    the profile blocks them (and only then: the test can fail)."""
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="sw", seed=8, os=["windows"])
    call(rt, "privacy:toggle-tracker-blocking", profile="sw", enabled=blocking)
    tab = call(rt, "tab:create", url=site.url("/frame.html"), profile="sw", proxy="direct")
    outcome = evaluate(rt, tab["id"], """async () => {
        const reg = await navigator.serviceWorker.register('/sw.js');
        await navigator.serviceWorker.ready;
        const shared = await new Promise((resolve) => {
          const w = new SharedWorker('/shared-worker.js');
          w.onerror = () => resolve('error event');
          w.port.onmessage = (e) => resolve(e.data);
        });
        return [reg.active ? 'registered' : 'not active', shared, navigator.userAgent];
    }""")
    registered, (platform, user_agent, tracker), page_agent = outcome
    assert (registered, platform, user_agent) == ("registered", "Win32", page_agent)
    assert "/sw.js" in site.requests and "/shared-worker.js" in site.requests
    assert tracker == ("blocked" if blocking else "loaded")
    assert ("/vipb-test-tracker/shared.gif" in site.requests) is not blocking
    if blocking:
        assert call(rt, "privacy:get-stats", tab_id=tab["id"])["blocked"] == 1


def test_locale_and_timezone_follow_the_proxy_country(browser_runtime, site: Site) -> None:
    from scripts.fixtures.servers import pproxy

    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="roaming", seed=21, follow_proxy_country=True)
    with pproxy("http") as proxy:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=proxy.port,
                        country="JP")["id"]
        tab = call(rt, "tab:create", url=site.url("/probe.html"), profile="roaming",
                   proxy=proxy_id)
        page = evaluate(rt, tab["id"], "window.pageProbe")
        worker = evaluate(rt, tab["id"], "window.workerProbe")
    assert (page["timezone"], page["languages"]) == ("Asia/Tokyo", ["ja-JP", "ja"])
    assert (worker["timezone"], worker["languages"]) == ("Asia/Tokyo", ["ja-JP", "ja"])


AUDIO = """async () => {
    const ctx = new OfflineAudioContext(1, 4410, 44100);
    const osc = ctx.createOscillator();
    osc.type = 'triangle'; osc.frequency.value = 1000;
    const comp = ctx.createDynamicsCompressor();
    osc.connect(comp); comp.connect(ctx.destination); osc.start(0);
    const buffer = await ctx.startRendering();
    const data = buffer.getChannelData(0);
    let sum = 0; for (let i = 1000; i < 4410; i++) sum += Math.abs(data[i]);
    return sum;
}"""


def test_audio_noise_is_tiny_stable_and_per_profile(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="a1", seed=31)
    call(rt, "privacy:set-fingerprint", profile="a2", seed=32)
    one = call(rt, "tab:create", url=site.url("/frame.html"), profile="a1", proxy="direct")
    two = call(rt, "tab:create", url=site.url("/frame.html"), profile="a2", proxy="direct")
    first = evaluate(rt, one["id"], AUDIO)
    assert evaluate(rt, one["id"], AUDIO) == first  # stable within the profile
    call(rt, "tab:reload", tab_id=one["id"])
    assert evaluate(rt, one["id"], AUDIO) == first
    other = evaluate(rt, two["id"], AUDIO)
    assert other != first  # profiles differ
    assert abs(other - first) / first < 1e-5  # relative noise: the sound is the same


def test_canvas_exports_work_noise_once_and_leave_flat_areas_alone(browser_runtime,
                                                                   site: Site) -> None:
    """Every export path (getImageData, toDataURL, toBlob, OffscreenCanvas.convertToBlob), in
    the page and in a worker: none throws (an empty canvas included); a flat fill reads and
    exports exactly as drawn; the noise is the profile's (two profiles differ on every path,
    so it is not applied twice and cancelled) and stable (the same profile again, the same)."""
    rt = browser_runtime
    for name, seed in (("one", 21), ("two", 22)):
        call(rt, "privacy:set-fingerprint", profile=name, seed=seed, os=["windows"])
    seen: dict[str, list[tuple[dict, dict]]] = {"one": [], "two": []}
    for name in ("one", "two", "one"):
        tab = call(rt, "tab:create", url=site.url("/canvas.html"), profile=name, proxy="direct")
        page = evaluate(rt, tab["id"], "window.canvasPage")
        worker = evaluate(rt, tab["id"], "window.canvasWorker")
        for realm in (page, worker):
            assert realm["errors"] == {}, realm["errors"]
            assert (realm["flatRead"], realm["flatExport"]) == (0, 0), "flat areas untouched"
            assert realm["emptyConvertToBlob"] > 0
        assert page["emptyToDataURL"] > 0
        seen[name].append((page, worker))
        call(rt, "tab:close", tab_id=tab["id"])
    (one_page, one_worker), (again_page, again_worker) = seen["one"]
    [(two_page, two_worker)] = seen["two"]
    assert (one_page, one_worker) == (again_page, again_worker), "the same profile, the same"
    for path in ("getImageData", "toDataURL", "toBlob", "convertToBlob"):
        assert one_page[path] != two_page[path], path
    for path in ("getImageData", "convertToBlob"):
        assert one_worker[path] != two_worker[path], f"worker {path}"
    # Exports read back outside the page: noise once, only beside the edge, the same pixels
    # whichever path exported them (a second pass would also touch the columns beside it).
    left, right = (10, 120, 200, 255), (200, 40, 10, 255)
    for page, worker in (seen["one"][0], seen["two"][0]):
        exports = [png_pixels(page[k]) for k in ("edgeDataURL", "edgeBlob", "edgeConvert")]
        exports.append(png_pixels(worker["edgeConvert"]))
        assert all(e == exports[0] for e in exports), "every path exports the same pixels"
        changed = [(x, y) for y, row in enumerate(exports[0]) for x, pixel in enumerate(row)
                   if pixel != (left if x < 25 else right)]
        assert changed and {x for x, _ in changed} <= {24, 25}, changed
        for x, y in changed:
            want = left if x < 25 else right
            assert sorted(abs(a - b) for a, b in zip(exports[0][y][x], want,
                                                    strict=True)) == [0, 0, 0, 1]


def test_a_phone_profile_says_mobile_in_every_realm(browser_runtime, site: Site) -> None:
    """The client hints a phone sends (mobile ?1) and what its scripts read agree: page,
    iframe and worker report a mobile device with touch; a desktop profile does not."""
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="phone", seed=5, os=["android"])
    call(rt, "privacy:set-fingerprint", profile="desk", seed=5, os=["windows"])
    for name, mobile in (("phone", True), ("desk", False)):
        tab = call(rt, "tab:create", url=site.url("/probe.html"), profile=name, proxy="direct")
        page, frame, worker = _probes(rt, tab["id"])
        for seen in (page, frame, worker):
            assert seen["mobile"] is mobile, (name, seen)
        if mobile:  # (workers have no maxTouchPoints)
            assert page["maxTouchPoints"] > 0 and frame["maxTouchPoints"] > 0, "a phone touches"
        hints = evaluate(rt, tab["id"], """() => navigator.userAgentData.getHighEntropyValues(
            ["formFactors", "model"]).then(h => [h.mobile, h.formFactors])""")
        assert hints == [mobile, ["Mobile" if mobile else "Desktop"]], (name, hints)
        call(rt, "tab:close", tab_id=tab["id"])


def test_a_profile_in_use_stays_and_a_removed_one_frees_its_name(browser_runtime,
                                                                  site: Site) -> None:
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="berlin", seed=5, os=["windows"])
    call(rt, "privacy:toggle-webrtc", profile="berlin", mode="block")
    tab = call(rt, "tab:create", url=site.url("/probe.html"), profile="berlin", proxy="direct")
    first = evaluate(rt, tab["id"], "window.pageProbe")
    call(rt, "automation:schedule", name="am", cron="0 6 * * *", profile="Berlin")
    head = rt.app.recorder.max_notification_id()
    refused = refuse(rt, "privacy:remove", profile="BERLIN")
    assert refused.startswith("profile: profile 'BERLIN' is in use by schedule 'am', tab ")
    assert tab["id"] in refused
    assert rt.app.recorder.max_notification_id() == head, "a refusal writes nothing"
    call(rt, "automation:remove-schedule", name="am")
    call(rt, "tab:close", tab_id=tab["id"])
    assert call(rt, "privacy:remove", profile="berlin")["changed"] is True
    assert "no privacy profile" in refuse(rt, "privacy:remove", profile="berlin")
    assert "no privacy profile" in refuse(rt, "tab:create", profile="berlin", proxy="direct")
    rt.settle()
    with rt.reader() as conn:
        assert conn.execute("SELECT count(*) FROM privacy_profiles WHERE name='berlin'"
                            ).fetchone()[0] == 0
    # the name is free: a new profile (new fingerprint, default settings) under it
    call(rt, "privacy:set-fingerprint", profile="berlin", seed=6, os=["windows"])
    again = call(rt, "tab:create", url=site.url("/probe.html"), profile="berlin",
                 proxy="direct")
    assert evaluate(rt, again["id"], "window.pageProbe")["canvasHash"] != first["canvasHash"]
    rt.settle()
    with rt.reader() as conn:
        row = conn.execute("SELECT webrtc FROM privacy_profiles WHERE name='berlin'").fetchone()
    assert tuple(row) == ("proxied",)
    rt.runner.rebuild(None)
    with rt.reader() as conn:
        assert conn.execute("SELECT count(*) FROM privacy_profiles WHERE name='berlin'"
                            ).fetchone()[0] == 1, "a rebuild reads the same"


def test_each_change_of_a_profile_reaches_the_next_searchs_setup(browser_runtime) -> None:
    """The route planner keeps a profile's setup behind a route between searches (asking
    the guard once, not per search) until the guard changes a profile: every kind of
    change shows in the very next setup."""
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="kept", seed=5, os=["windows"])

    def next_setup(profile: str = "kept") -> tuple[str, Any]:
        ticket = rt.planner().ticket(None, profile, "direct", None)
        rt.tabs().hold(ticket)
        rt.tabs().release(ticket.key).get(timeout=60)
        return ticket.profile_id, ticket.setup

    first_id, first = next_setup()
    assert next_setup() == (first_id, first), "an unchanged profile: the same setup"
    call(rt, "privacy:toggle-webrtc", profile="kept", mode="block")
    assert next_setup()[1].webrtc == "block"
    call(rt, "privacy:toggle-tracker-blocking", profile="kept", enabled=True)
    assert next_setup()[1].blocker is not None
    call(rt, "privacy:set-fingerprint", profile="kept", seed=6, os=["windows"],
         regenerate=True, locale="de-DE", timezone="Europe/Berlin")
    _, regenerated = next_setup()
    assert regenerated.fingerprint != first.fingerprint
    assert (regenerated.locale, regenerated.timezone) == ("de-DE", "Europe/Berlin")
    call(rt, "privacy:remove", profile="kept")
    assert "no privacy profile" in refuse(rt, "tab:create", profile="kept", proxy="direct")
    with pytest.raises(Exception, match="no privacy profile"):
        next_setup()
    call(rt, "privacy:set-fingerprint", profile="kept", seed=7, os=["macos"])
    assert next_setup()[1].fingerprint.values.ua_platform == "macOS"
