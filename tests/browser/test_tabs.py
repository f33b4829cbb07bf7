"""Tabs in real Chromium through real local proxies: each tab's traffic goes through its own
proxy, SOCKS5 with credentials works through the relay, history, sessions, crash recovery."""

from __future__ import annotations

import contextlib
import threading
from urllib.parse import urlsplit

import pytest

from adapters.store import EventHistory
from scripts.fixtures.servers import echo_server, have, microsocks, pproxy, tinyproxy
from scripts.fixtures.sites import Site
from service.runtime import EventReader
from tests.helpers import call, evaluate, refuse

needs_debian_servers = pytest.mark.skipif(
    not (have("microsocks") and have("tinyproxy")), reason="microsocks/tinyproxy not installed")


def _port(site: Site) -> str:
    return f"127.0.0.1:{urlsplit(site.base).port}"


def _add(rt, proxy, **extra) -> str:
    payload = {"protocol": proxy.protocol, "host": "127.0.0.1", "port": proxy.port, **extra}
    if proxy.username:
        payload |= {"username": proxy.username, "password": proxy.password}
    return str(call(rt, "proxy:add", **payload)["id"])


def _events(rt, aggregate: str | None = None) -> list[tuple[str, dict]]:
    entries = EventHistory(rt.app).log(aggregate=aggregate, limit=10_000)
    return [(e.event, e.data or {}) for e in entries]


def test_each_tab_goes_through_its_own_proxy(browser_runtime, site: Site,
                                             other_site: Site) -> None:
    rt = browser_runtime
    with pproxy("http", verbose=True) as a, pproxy("http", verbose=True) as b:
        id_a, id_b = _add(rt, a), _add(rt, b)
        tab_a = call(rt, "tab:create", url=site.url("/frame.html"), proxy=id_a)
        tab_b = call(rt, "tab:create", url=other_site.url("/frame.html"), proxy=id_b)
        assert (tab_a["status"], tab_b["status"]) == (200, 200)
        assert (tab_a["proxy_id"], tab_b["proxy_id"]) == (id_a, id_b)
        assert a.log.wait_for(lambda lines: any(_port(site) in x for x in lines))
        assert b.log.wait_for(lambda lines: any(_port(other_site) in x for x in lines))
        assert not a.log.mentions(_port(other_site))
        assert not b.log.mentions(_port(site))
        rt.settle()
        with rt.reader() as conn:
            rows = dict(conn.execute("SELECT id, proxy_id FROM tabs").fetchall())
        assert rows == {tab_a["id"]: id_a, tab_b["id"]: id_b}


def test_auto_proxy_comes_from_the_rotation_engine(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    with pproxy("http", verbose=True) as only:
        proxy_id = _add(rt, only)
        tab = call(rt, "tab:create", url=site.url("/frame.html"))  # proxy=auto
        assert tab["proxy_id"] == proxy_id
        assert only.log.wait_for(lambda lines: any(_port(site) in x for x in lines))
        applied = [data for name, data in _events(rt) if name == "RotationApplied"]
        assert [a["proxy_id"] for a in applied] == [proxy_id], "the pick is on record"


def test_a_proxy_on_ipv6_loopback_validates_and_carries_a_tab(browser_runtime,
                                                              site: Site) -> None:
    """An endpoint ``[::1]:port`` is written with brackets everywhere it is used: the health
    check's request, the validation result, Chromium's proxy server, the activity log."""
    rt = browser_runtime
    with pproxy("http", "ann", "pw6", verbose=True, listen="::1") as proxy, \
            echo_server() as check_url:
        proxy_id = str(call(rt, "proxy:add", protocol="http", host="[::1]", port=proxy.port,
                            username="ann", password="pw6")["id"])
        [result] = call(rt, "proxy:validate", proxy_id=proxy_id, check_url=check_url,
                        samples=1)
        assert (result["status"], result["endpoint"]) == ("active", f"http://[::1]:{proxy.port}")
        tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy=proxy_id)
        assert (tab["status"], tab["proxy_id"]) == (200, proxy_id)
        assert proxy.log.wait_for(lambda lines: any(_port(site) in x for x in lines))
    rt.settle()
    with rt.reader() as conn:
        summaries = [r[0] for r in conn.execute("SELECT message FROM activity_logs")]
    assert any(f"http://[::1]:{proxy.port}" in s for s in summaries), summaries


def test_no_proxy_in_the_pool_is_a_clear_error_not_a_direct_connection(browser_runtime,
                                                                       site: Site) -> None:
    rt = browser_runtime
    error = refuse(rt, "tab:create", url=site.url("/frame.html"))
    assert error.startswith("proxy: no proxy is available")
    assert error.endswith("add proxies or pass proxy=direct")
    assert site.requests == []


@needs_debian_servers
def test_socks5_with_credentials_works_through_the_local_relay(browser_runtime,
                                                               site: Site) -> None:
    rt = browser_runtime
    with microsocks("tabuser", "s3cret:with#odd@chars") as socks:
        proxy_id = _add(rt, socks)
        tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy=proxy_id)
        assert tab["status"] == 200
        assert tab["proxy_id"] == proxy_id
        assert "/frame.html" in site.requests
    # the proxy is gone: the same tab can no longer load anything
    error = refuse(rt, "tab:navigate", tab_id=tab["id"], url=site.url("/app.js"))
    assert "ERR_" in error
    assert "/app.js" not in site.requests


@needs_debian_servers
def test_http_proxy_with_basic_auth(browser_runtime, site: Site, tmp_path) -> None:
    rt = browser_runtime
    with tinyproxy(tmp_path, "web", "pa55word") as proxy:
        proxy_id = _add(rt, proxy)
        tab = call(rt, "tab:create", url=site.url("/probe.html"), proxy=proxy_id)
        assert tab.get("status") == 200, tab.get("error")
        page = evaluate(rt, tab["id"], "window.pageProbe")
        worker = evaluate(rt, tab["id"], "window.workerProbe")  # guarded through the proxy
        assert (worker["platform"], worker["languages"]) == (page["platform"],
                                                             page["languages"])
    with tinyproxy(tmp_path, "web", "other") as wrong:
        bad_id = _add(rt, wrong, label="wrong password")
        call(rt, "proxy:update", proxy_id=bad_id, password="not-it")
        tab = call(rt, "tab:create", proxy=bad_id)
        error = refuse(rt, "tab:navigate", tab_id=tab["id"], url=site.url("/app.js"))
        assert "ERR_" in error


def test_a_picked_proxys_changes_reach_the_next_route(browser_runtime) -> None:
    """The route planner keeps a picked proxy's endpoint between searches (not asking its
    actor each time) until a proxy changes: new credentials or a new port show in the very
    next route, and a removed proxy is no longer picked."""
    rt = browser_runtime
    with pproxy("http", "user", "first") as first, pproxy("http") as second:
        proxy_id = _add(rt, first)

        def next_route():  # type: ignore[no-untyped-def]
            ticket = rt.planner().ticket(None, "default", "auto", None)
            rt.tabs().hold(ticket)
            rt.tabs().release(ticket.key).get(timeout=60)
            return ticket.proxy_id, ticket.setup.proxy

        route = (proxy_id, next_route()[1])
        assert route[1].port == first.port and route[1].password == "first"
        assert next_route() == route, "unchanged: the same endpoint"
        call(rt, "proxy:update", proxy_id=proxy_id, password="second")
        assert next_route()[1].password == "second"
        call(rt, "proxy:update", proxy_id=proxy_id, port=second.port, clear_credentials=True)
        moved = next_route()[1]
        assert (moved.port, moved.username, moved.password) == (second.port, None, None)
        call(rt, "proxy:remove", proxy_id=proxy_id)
        with pytest.raises(Exception, match=r"(?i)no proxy|add proxies"):
            next_route()


def test_history_back_forward_reload(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy="direct")
    call(rt, "tab:navigate", tab_id=tab["id"], url=site.url("/webrtc.html"))
    assert call(rt, "tab:go-back", tab_id=tab["id"])["url"] == site.url("/frame.html")
    assert call(rt, "tab:go-forward", tab_id=tab["id"])["url"] == site.url("/webrtc.html")
    before = site.requests.count("/webrtc.html")
    assert call(rt, "tab:reload", tab_id=tab["id"])["title"] == "webrtc"
    assert site.requests.count("/webrtc.html") == before + 1
    actions = [s["action"] for n, s in _events(rt, tab["id"]) if n == "TabNavigated"]
    assert actions == ["goto", "goto", "back", "forward", "reload"]
    assert call(rt, "tab:update", tab_id=tab["id"], label="rtc check")["label"] == "rtc check"
    (row,) = call(rt, "tab:list")
    assert (row["label"], row["navigations"], row["url"]) == ("rtc check", 5,
                                                              site.url("/webrtc.html"))


def test_assign_proxy_moves_the_tab_to_the_new_proxy(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    with pproxy("http", verbose=True) as a, pproxy("http", verbose=True) as b:
        id_a, id_b = _add(rt, a), _add(rt, b)
        tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy=id_a)
        moved = call(rt, "tab:assign-proxy", tab_id=tab["id"], proxy=id_b)
        assert moved["proxy_id"] == id_b
        assert b.log.wait_for(lambda lines: any(_port(site) in x for x in lines))
        names = [n for n, _ in _events(rt, tab["id"])]
        assert names[:2] == ["TabOpened", "TabNavigated"]
        assert "TabProxyAssigned" in names and names[-1] == "TabNavigated"


def test_a_tab_moved_to_another_proxy_keeps_its_history(browser_runtime, site: Site) -> None:
    """After a move the tab's page is new, with no history of its own: back and forward
    still walk the tab's pages (loaded again, through the new proxy), never about:blank;
    ``auto`` picks a proxy other than the one the tab leaves."""
    rt = browser_runtime
    with pproxy("http", verbose=True) as a, pproxy("http", verbose=True) as b:
        id_a, id_b = _add(rt, a), _add(rt, b)
        tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy=id_a)
        call(rt, "tab:navigate", tab_id=tab["id"], url=site.url("/webrtc.html"))
        call(rt, "tab:navigate", tab_id=tab["id"], url=site.url("/canvas.html"))
        assert call(rt, "tab:go-back", tab_id=tab["id"])["url"] == site.url("/webrtc.html")
        for _ in range(3):  # whichever strategy runs, auto never stays on the tab's proxy
            before = call(rt, "tab:list")[0]["proxy_id"]
            moved = call(rt, "tab:assign-proxy", tab_id=tab["id"], proxy="auto")
            assert moved["proxy_id"] in {id_a, id_b} - {before}
            assert moved["url"] == site.url("/webrtc.html")
            rt.settle()
        assert call(rt, "tab:go-back", tab_id=tab["id"])["url"] == site.url("/frame.html")
        assert call(rt, "tab:go-forward", tab_id=tab["id"])["url"] == site.url("/webrtc.html")
        assert call(rt, "tab:go-forward", tab_id=tab["id"])["url"] == site.url("/canvas.html")
        assert refuse(rt, "tab:go-forward", tab_id=tab["id"]) == \
            "tab_id: the tab has no page to go forward to"
        assert call(rt, "tab:go-back", tab_id=tab["id"])["url"] == site.url("/webrtc.html")
        actions = [s["action"] for n, s in _events(rt, tab["id"]) if n == "TabNavigated"]
        assert actions[-4:] == ["back", "forward", "forward", "back"]


def test_tab_commands_reject_bad_input_and_write_nothing(data_dir, site: Site) -> None:
    from tests.helpers import open_runtime

    rt = open_runtime(data_dir, allow_private_targets=False)
    try:
        head = rt.app.recorder.max_notification_id()
        assert refuse(rt, "tab:create", url="file:///etc/passwd").startswith("url:")
        assert refuse(rt, "tab:create", url="javascript:alert(1)").startswith("url:")
        assert refuse(rt, "tab:create", url=site.url("/x"), proxy="direct").startswith("url:")
        assert refuse(rt, "tab:navigate", tab_id="0" * 32, url="https://example.com/") \
            .startswith("no open tab")
        assert refuse(rt, "tab:create", label="<img src=x onerror=1>").startswith("label:")
        assert refuse(rt, "tab:bogus", x=1).startswith("channel:")
        assert rt.app.recorder.max_notification_id() == head
        assert site.requests == []
    finally:
        rt.close()


def test_crashed_browser_is_relaunched_and_its_tabs_reopened(browser_runtime,
                                                             site: Site) -> None:
    """Tabs of a Windows and a macOS profile run in two browsers (each its system's fonts):
    when one crashes, its tab is reopened in a relaunched browser and the other tab lives on,
    with nothing about a crash on its record."""
    rt = browser_runtime
    for name in ("windows", "macos"):
        call(rt, "privacy:set-fingerprint", profile=name, seed=3, os=[name])
    tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy="direct", profile="windows")
    other = call(rt, "tab:create", url=site.url("/frame.html"), proxy="direct",
                 profile="macos")
    engine = rt.engine
    assert sorted(engine.running()) == ["macos", "windows"]
    crashed = threading.Event()
    engine.add_crash_listener(crashed.set)
    launches = engine.launches

    async def crash() -> None:
        session = await engine.running()["windows"].new_browser_cdp_session()
        with contextlib.suppress(Exception):  # the connection dies with the browser
            await session.send("Browser.crash")

    engine.run(crash())
    assert crashed.wait(30)
    # The supervisor heard of the crash before our listener ran: asking it anything now
    # waits until every tab is reopened.
    assert sorted(rt.tabs().open_tabs().get()) == sorted([tab["id"], other["id"]])
    assert engine.launches == launches + 1
    names = [n for n, _ in _events(rt, tab["id"])]
    assert names[-2:] == ["TabCrashed", "TabNavigated"]
    assert "TabCrashed" not in [n for n, _ in _events(rt, other["id"])]
    for opened in (tab, other):
        assert evaluate(rt, opened["id"], "document.title") == "frame"
    assert call(rt, "tab:navigate", tab_id=tab["id"], url=site.url("/webrtc.html"))["status"] \
        == 200


def test_sessions_save_and_restore_tabs(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="work", seed=9)
    one = call(rt, "tab:create", url=site.url("/frame.html"), proxy="direct", profile="work")
    two = call(rt, "tab:create", url=site.url("/webrtc.html"), proxy="direct", label="rtc")
    saved = call(rt, "session:save", name="morning")
    assert saved["tabs"] == 2
    call(rt, "tab:close", tab_id=one["id"])
    call(rt, "tab:close", tab_id=two["id"])
    assert call(rt, "tab:list") == []
    loaded = call(rt, "session:load", name="morning")
    urls = sorted(t["url"] for t in loaded["tabs"])
    assert urls == sorted([site.url("/frame.html"), site.url("/webrtc.html")])
    listed = call(rt, "tab:list")
    assert len(listed) == 2
    assert {row["label"] for row in listed} == {None, "rtc"}
    work = call(rt, "privacy:set-fingerprint", profile="work", regenerate=True, seed=9)["id"]
    by_label = {row["label"]: row["profile_id"] for row in listed}
    assert by_label[None] == work  # the restored tab kept its profile
    assert by_label["rtc"] != work
    sessions = call(rt, "session:list")
    assert [(s["name"], s["tab_count"], s["loads"]) for s in sessions] == [("morning", 2, 1)]
    assert refuse(rt, "session:load", name="evening").startswith("name: no saved session")


def test_crashed_page_is_reopened(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    tab = call(rt, "tab:create", url=site.url("/frame.html"), proxy="direct")
    actor = rt.tabs().tab(tab["id"]).get()
    crashed = threading.Event()

    async def crash() -> None:
        (browser,) = rt.engine.running().values()  # the one open tab's
        (page,) = [p for c in browser.contexts for p in c.pages]
        page.on("crash", lambda _p: crashed.set())
        session = await page.context.new_cdp_session(page)
        with contextlib.suppress(Exception):
            await session.send("Page.crash")

    rt.engine.run(crash())
    assert crashed.wait(30)
    # The actor was told before our handler ran; an ask now waits until it has recovered.
    assert actor.info().get()["url"] == site.url("/frame.html")
    names = [n for n, _ in _events(rt, tab["id"])]
    assert names[-2:] == ["TabCrashed", "TabNavigated"]
    assert evaluate(rt, tab["id"], "document.title") == "frame"


def test_open_tabs_resume_after_a_host_restart(data_dir, site: Site) -> None:
    import signal

    from adapters.control import ControlClient
    from tests.hosts import RunningHost

    lab = {"VIPB_ALLOW_PRIVATE_TARGETS": "1"}
    host = RunningHost(data_dir, **lab)
    with ControlClient(host.socket) as client:
        tab = client.call("tab:create", {"url": site.url("/frame.html"), "proxy": "direct"})
    assert tab["success"], tab
    tab_id = tab["data"]["id"]
    host.stop(signal.SIGKILL)  # killed with the tab open
    for stop in (signal.SIGTERM, None):  # after a kill, then after a graceful stop
        host = RunningHost(data_dir, **lab)
        assert host.log.wait_for(lambda lines: any("resumed 1 open tabs" in x for x in lines))
        with ControlClient(host.socket) as client:
            assert [t["id"] for t in client.call("tab:list")["data"]] == [tab_id]
            moved = client.call("tab:navigate", {"tab_id": tab_id,
                                                 "url": site.url("/webrtc.html")})
            assert moved["success"], moved
        if stop is not None:
            assert host.stop(stop) == 0
    host.stop(signal.SIGKILL)
    assert site.requests.count("/frame.html") == 2  # loaded, then restored after the kill
    assert site.requests.count("/webrtc.html") == 3  # loaded, restored, loaded again
    reader = EventReader(data_dir)
    try:
        actions = [e.data["action"] for e in EventHistory(reader.app).log(aggregate=tab_id)
                   if e.event == "TabNavigated"]
        names = [e.event for e in EventHistory(reader.app).log(aggregate=tab_id)]
    finally:
        reader.close()
    assert actions == ["goto", "restore", "goto", "restore", "goto"]
    assert "TabClosed" not in names
