"""The WebRTC guard and tracker blocking, in real Chromium against local servers."""

from __future__ import annotations

import ipaddress
import re
import socket
import subprocess

import pytest

from scripts.fixtures.servers import pproxy, tinyproxy
from scripts.fixtures.sites import Site
from tests.helpers import call, evaluate, open_runtime

_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b", re.I)


def _host_addresses() -> set[str]:
    """Every address of this machine's interfaces (what a leak would reveal)."""
    found = set()
    try:
        out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True,
                             check=False).stdout
        found |= {m.split("/")[0] for m in re.findall(r"inet6? (\S+)", out)}
    except OSError:
        pass
    for info in socket.getaddrinfo(socket.gethostname(), None):
        found.add(str(info[4][0]))
    return {a for a in found if a}


def _leaked(gathered: dict) -> list[str]:
    """Addresses of this machine that appear in candidates or the SDP (mDNS names are not;
    loopback is not: Chrome writes 127.0.0.1 in every SDP origin line)."""
    sdp_lines = [line for line in gathered.get("sdp", "").splitlines()
                 if line.startswith(("c=", "a=candidate", "a=rtcp"))]
    text = " ".join(gathered["candidates"] + sdp_lines)
    mine = _host_addresses()
    leaked = []
    for token in _IP.findall(text):
        try:
            address = ipaddress.ip_address(token)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified:
            continue
        if str(address) in mine or address.is_private or address.is_global:
            leaked.append(str(address))
    return leaked


def test_no_ice_candidate_reveals_a_local_address(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    with pproxy("http") as proxy:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=proxy.port)["id"]
        tab = call(rt, "tab:create", url=site.url("/webrtc.html"), proxy=proxy_id)
        gathered = evaluate(rt, tab["id"], "window.gather()")
    assert gathered["available"] is True  # WebRTC still works, it just cannot leak
    assert _leaked(gathered) == []
    # The launch policy (no non-proxied UDP) gathers nothing at all: without it Chromium
    # offers at least an mDNS host candidate.
    assert gathered["candidates"] == []


def test_block_mode_removes_peer_connections(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="strict", seed=4)
    call(rt, "privacy:toggle-webrtc", profile="strict", mode="block")
    tab = call(rt, "tab:create", url=site.url("/webrtc.html"), profile="strict", proxy="direct")
    assert evaluate(rt, tab["id"], "window.gather()") == {"available": False, "candidates": []}


def test_blocked_trackers_never_reach_the_server(browser_runtime, site: Site) -> None:
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="clean", seed=6)
    call(rt, "privacy:toggle-tracker-blocking", profile="clean", enabled=True)
    tab = call(rt, "tab:create", url=site.url("/trackers.html"), profile="clean",
               proxy="direct")
    assert tab["status"] == 200
    assert evaluate(rt, tab["id"], "[window.appLoaded === true, window.trackerLoaded]") == \
        [True, None]
    assert "/app.js" in site.requests
    assert not any(path.startswith("/vipb-test-tracker/") for path in site.requests)
    live = call(rt, "privacy:get-stats", tab_id=tab["id"])
    assert live["blocked"] == 2 and live["tabs"][0]["unrecorded_blocked"] == 2
    closed = call(rt, "tab:close", tab_id=tab["id"])
    rt.runner.wait_for(closed["position"])
    with rt.reader() as conn:
        row = conn.execute("SELECT trackers_blocked, requests_allowed FROM tabs WHERE id=?",
                           (tab["id"],)).fetchone()
    assert tuple(row) == (2, 2)  # the page and app.js were allowed
    stats = call(rt, "privacy:get-stats")
    assert stats["blocked"] == 2


def test_without_blocking_the_tracker_is_loaded(browser_runtime, site: Site) -> None:
    rt = browser_runtime  # the same page, blocking off (default): the test above can fail
    tab = call(rt, "tab:create", url=site.url("/trackers.html"), proxy="direct")
    assert evaluate(rt, tab["id"], "window.trackerLoaded") is True
    assert "/vipb-test-tracker/t.js" in site.requests


def test_filter_lists_from_files(data_dir, site: Site, tmp_path) -> None:
    custom = tmp_path / "mine.txt"
    custom.write_text("! my list\n/app.js$script\n")
    rt = open_runtime(data_dir, filter_lists=[str(custom)])
    try:
        call(rt, "privacy:set-fingerprint", profile="mine", seed=8)
        call(rt, "privacy:toggle-tracker-blocking", profile="mine", enabled=True)
        tab = call(rt, "tab:create", url=site.url("/trackers.html"), profile="mine",
                   proxy="direct")
        assert evaluate(rt, tab["id"], "[window.appLoaded, window.trackerLoaded]") == \
            [None, True]  # only the user's list applies
        assert "/app.js" not in site.requests
    finally:
        rt.close()


def test_filter_lists_from_urls(data_dir, site: Site) -> None:
    rt = open_runtime(data_dir, filter_lists=[site.url("/filters.txt")])
    try:
        call(rt, "privacy:set-fingerprint", profile="fetched", seed=9)
        call(rt, "privacy:toggle-tracker-blocking", profile="fetched", enabled=True)
        assert "/filters.txt" in site.requests  # loaded when blocking was turned on
        tab = call(rt, "tab:create", url=site.url("/trackers.html"), profile="fetched",
                   proxy="direct")
        assert evaluate(rt, tab["id"], "window.appLoaded") is None
    finally:
        rt.close()


def test_unreadable_filter_list_is_a_clear_error(data_dir, tmp_path) -> None:
    rt = open_runtime(data_dir, filter_lists=[str(tmp_path / "missing.txt")])
    try:
        call(rt, "privacy:set-fingerprint", profile="p", seed=1)
        reply = rt.dispatcher.dispatch("privacy:toggle-tracker-blocking",
                                       {"profile": "p", "enabled": True})
        missing = tmp_path / "missing.txt"
        assert reply == {"success": False, "code": "validation_error",
                         "error": f"filter_lists: {missing} is not a readable file",
                         "details": {"field": "filter_lists"}}
    finally:
        rt.close()


@pytest.mark.parametrize("server", ["tinyproxy", "pproxy"])
def test_blocking_works_behind_a_password_protected_proxy(browser_runtime, site: Site,
                                                          tmp_path, server: str) -> None:
    """Tracker blocking routes every request through Playwright while the proxy asks for
    credentials: pages load, trackers are blocked, and the proxy saw the credentials."""
    rt = browser_runtime
    call(rt, "privacy:set-fingerprint", profile="guarded", seed=8)
    call(rt, "privacy:toggle-tracker-blocking", profile="guarded", enabled=True)
    running = tinyproxy(tmp_path, "web", "pa55word") if server == "tinyproxy" \
        else pproxy("http", "web", "pa55word")
    with running as proxy:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=proxy.port,
                        username="web", password="pa55word")["id"]
        for _ in range(3):
            tab = call(rt, "tab:create", url=site.url("/trackers.html"), profile="guarded",
                       proxy=proxy_id)
            assert tab["status"] == 200, tab
            assert evaluate(rt, tab["id"], "[window.appLoaded === true, window.trackerLoaded]") \
                == [True, None]
            call(rt, "tab:close", tab_id=tab["id"])
        tab = call(rt, "tab:create", url=site.url("/probe.html"), profile="guarded",
                   proxy=proxy_id)  # an iframe and a worker, through the same proxy
        assert tab["status"] == 200, tab
        worker = evaluate(rt, tab["id"], "window.workerProbe")
        assert worker["platform"] == evaluate(rt, tab["id"], "window.pageProbe")["platform"]
    assert not any(path.startswith("/vipb-test-tracker/") for path in site.requests)
