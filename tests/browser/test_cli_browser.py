"""The browser commands through the real ``vipb`` entry point."""

from __future__ import annotations

from scripts.fixtures.servers import free_port, pproxy
from scripts.fixtures.sites import Site
from tests.helpers import Cli

LOCAL = {"VIPB_ALLOW_PRIVATE_TARGETS": "1"}


def test_visit_through_a_proxy_with_a_profile(cli: Cli, site: Site) -> None:
    assert cli("init").code == 0
    created = cli("privacy", "create", "paris", "--os", "macos", "--locale", "fr-FR",
                  "--timezone", "Europe/Paris", "--seed", "12", "--json")
    assert created.code == 0, created.err
    assert created.json()["platform"] == "MacIntel"
    again = cli("privacy", "create", "paris")
    assert again.code == 2 and again.err.count("\n") == 1 and "--regenerate" in again.err
    with pproxy("http", verbose=True) as proxy:
        assert cli("proxy", "add", f"http://127.0.0.1:{proxy.port}", "--country", "FR").code == 0
        visit = cli("tab", "visit", site.url("/probe.html"), "--profile", "paris", "--json",
                    **LOCAL)
        assert visit.code == 0, visit.err
        result = visit.json()
        assert (result["status"], result["title"]) == (200, "probe")
        assert proxy.log.mentions(site.base.removeprefix("http://"))
    listed = cli("tab", "list", "--all", "--json").json()
    assert [(t["state"], t["proxy_id"], t["url"]) for t in listed] == [
        ("closed", result["proxy_id"], site.url("/probe.html"))]
    assert cli("query", "tabs", "--where", "state=closed", "--json").json()[0]["id"] == \
        result["id"]


def test_a_visit_whose_page_did_not_load_exits_1(cli: Cli, site: Site) -> None:
    assert cli("init").code == 0
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert cli("proxy", "add", dead).code == 0
    failed = cli("tab", "visit", site.url("/probe.html"), "--json", **LOCAL)
    assert failed.code == 1
    assert "ERR_PROXY_CONNECTION_FAILED" in failed.json()["error"]
    direct = cli("tab", "visit", site.url("/probe.html"), "--proxy", "direct", **LOCAL)
    assert direct.code == 0, direct.err


def test_visit_refuses_private_targets_by_default(cli: Cli, site: Site) -> None:
    assert cli("init").code == 0
    refused = cli("tab", "visit", site.url("/probe.html"), "--proxy", "direct")
    assert refused.code == 2
    assert refused.err.startswith("vipb: error: url:")
    assert site.requests == []


def test_tabs_through_the_host(cli: Cli, site: Site, tmp_path) -> None:
    import signal

    from tests.hosts import RunningHost

    assert cli("init").code == 0
    alone = cli("tab", "open", site.url("/frame.html"), "--proxy", "direct")
    assert alone.code == 2 and alone.err.startswith(
        "vipb: error: host: a tab that stays open needs a running host"), alone.err
    host = RunningHost(tmp_path / "data", **LOCAL)
    try:
        opened = cli("tab", "open", site.url("/frame.html"), "--proxy", "direct", "--json")
        assert opened.code == 0, opened.err
        tab_id = opened.json()["id"]
        assert cli("tab", "navigate", tab_id, site.url("/webrtc.html"), "--json").json()[
            "title"] == "webrtc"
        assert cli("tab", "back", tab_id, "--json").json()["url"] == site.url("/frame.html")
        dead = cli("proxy", "add", f"http://127.0.0.1:{free_port()}", "--json").json()["id"]
        moved = cli("tab", "proxy", tab_id, dead, "--json")
        assert moved.code == 1, "the page did not load behind the new proxy"
        assert "ERR_PROXY_CONNECTION_FAILED" in moved.json()["error"]
        assert cli("tab", "proxy", tab_id, "direct").code == 0
        assert cli("session", "save", "s1", "--json").json()["tabs"] == 1
        closed = cli("tab", "close", tab_id)
        assert (closed.code, closed.out.strip()) == (
            0, f"closed tab {tab_id[:8]}, last at {site.url('/frame.html')}")
        assert cli("tab", "list", "--json").json() == []
        loaded = cli("session", "load", "s1", "--json").json()
        assert [t["url"] for t in loaded["tabs"]] == [site.url("/frame.html")]
        assert [t["state"] for t in cli("tab", "list", "--json").json()] == ["open"]
    finally:
        assert host.stop(signal.SIGTERM) == 0


def test_a_stored_profile_no_chrome_presents_is_named_until_regenerated(cli: Cli,
                                                                        tmp_path) -> None:
    """Profiles drawn before devices were checked keep their values (they are events);
    `privacy list` names what gives one away and how to replace it."""
    import pykka

    from adapters.fingerprints import generate_fingerprint
    from domain.privacy import PrivacyProfile, profile_id
    from service.bootstrap import bootstrap

    assert cli("init").code == 0
    mac = generate_fingerprint(3, ["macos"])
    swift = "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)"
    old = mac.model_copy(update={"platform": "Linux x86_64", "webgl_renderer": swift})
    rt = bootstrap(tmp_path / "data")  # the cli fixture's data dir
    try:
        rt.writer.save(PrivacyProfile(
            id=profile_id("old mac"), name="old mac", fingerprint=old.model_dump(mode="json"),
            locale="en-US", timezone="UTC", follow_proxy_country=False, webrtc="proxied",
            tracker_blocking=False))
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    assert cli("privacy", "create", "fine", "--os", "windows", "--seed", "4").code == 0
    listed = cli("privacy", "list")
    assert listed.code == 0
    assert listed.err.splitlines() == [
        "profile old mac: navigator.platform 'Linux x86_64' but the user agent says macOS; "
        f"software renderer {swift[:60]!r}; give it a new fingerprint: "
        "vipb privacy create 'old mac' --regenerate --os macos"]
    rows = {r["name"]: r["faults"] for r in cli("privacy", "list", "--json").json()}
    assert rows["fine"] == "" and rows["old mac"].startswith("navigator.platform")
    assert cli("privacy", "create", "old mac", "--regenerate", "--os", "macos").code == 0
    again = cli("privacy", "list")
    assert again.code == 0 and again.err == ""
