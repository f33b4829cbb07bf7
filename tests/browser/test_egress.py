"""SSRF from the attacker's side, in real Chromium: a page on an allowed "public" server tries
every way into 127.0.0.1 and [::1] (hex and short IPv4 spellings, ``localhost.``, names in
/etc/hosts, a DNS name that resolves to loopback, redirects, meta refresh, JS navigation,
images, fetch, iframes). The victim servers must see no request at all."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pykka
import pytest

from adapters.egress import Resolver
from scripts.fixtures.servers import LineLog, LoopbackServer, pproxy
from service.runtime import Runtime
from tests.helpers import call, open_runtime, refuse

Recorder = LineLog  # the paths one server was asked for, with a wait on them


class DnsToLoopback(Resolver):
    """The attacker's DNS: ``rebind.test`` names 127.0.0.1; other names as the system says
    (so /etc/hosts names such as ``ip6-localhost`` resolve as they really do)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        if host.rstrip(".") in ("rebind.test", "mixed.test"):
            return ["93.184.215.14", "127.0.0.1"] if host.startswith("mixed") else ["127.0.0.1"]
        return await super().resolve(host, port)


@contextlib.contextmanager
def serve(pages: dict[str, tuple[int, dict[str, str], str]], family: int = socket.AF_INET,
          host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[int, Recorder]]:
    """An HTTP server answering ``pages`` (status, headers, body); records every request."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            recorder.append(path)
            status, headers, body = pages.get(path, (404, {}, "no"))
            data = body.encode()
            self.send_response(status)
            for name, value in {"Content-Type": "text/html", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server_class = type("Server", (LoopbackServer,), {"address_family": family})
    server = server_class((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], recorder
    finally:
        server.shutdown()
        server.server_close()


def _hostile_pages(victim: int, victim6: int, attacker: int) -> dict[str, Any]:
    targets = [f"http://127.0.0.1:{victim}/plain", f"http://0x7f000001:{victim}/hex",
               f"http://0x7f.0.0.0x1:{victim}/mixed", f"http://127.1:{victim}/short",
               f"http://2130706433:{victim}/int", f"http://localhost.:{victim}/dot",
               f"http://foo.localhost.:{victim}/sub", f"http://rebind.test:{victim}/dns",
               f"http://mixed.test:{victim}/mixeddns", f"http://[::1]:{victim6}/v6",
               f"http://ip6-localhost:{victim6}/etchosts",
               f"http://[::ffff:127.0.0.1]:{victim}/mapped",
               f"http://metadata.google.internal.:{victim}/meta"]
    imgs = "".join(f'<img src="{t}/img">' for t in targets)
    frames = "".join(f'<iframe src="{t}/frame"></iframe>' for t in targets[:4])
    fetches = ", ".join(f'fetch("{t}/fetch").catch(() => 0)' for t in targets)
    subresources = f"""<html><body>{imgs}{frames}<script>
        const settled = [...document.images].map(i => new Promise(r => {{
            if (i.complete) r(); else {{ i.onload = r; i.onerror = r; }} }}));
        Promise.allSettled([{fetches}, ...settled]).then(
            () => fetch("http://127.0.0.1:{attacker}/done"));
        </script></body></html>"""
    return {
        "/subresources": (200, {}, subresources),
        "/redirect": (302, {"Location": f"http://127.0.0.1:{victim}/redirected"}, ""),
        "/redirect-hex": (302, {"Location": f"http://0x7f000001:{victim}/redirected-hex"}, ""),
        "/meta": (200, {}, f'<meta http-equiv="refresh" content="0;url=http://localhost.:'
                           f'{victim}/meta-refresh">'),
        "/js": (200, {}, f'<script>location.href="http://rebind.test:{victim}/js-nav";'
                         '</script>'),
        "/done": (200, {}, "ok"),
    }


@pytest.fixture
def guarded(data_dir: Path) -> Iterator[tuple[Runtime, int, Recorder, list[Recorder]]]:
    """A runtime with the private-address allowance off; the attacker's site is the one
    address the operator allowed (standing in for a public server)."""
    pages: dict[str, Any] = {}  # filled once every port is bound (each bound at port 0:
    # a port picked free and bound later can be taken in between on a busy machine)
    with serve(pages) as (attacker_port, attacker), serve({}) as (victim_port, victim), \
            serve({}, socket.AF_INET6, "::1") as (victim6_port, victim6):
        pages.update(_hostile_pages(victim_port, victim6_port, attacker_port))
        rt = open_runtime(data_dir, allow_private_targets=False,
                          egress_allow=[f"127.0.0.1:{attacker_port}"])
        rt.engine.egress.resolver = DnsToLoopback()
        try:
            yield rt, attacker_port, attacker, [victim, victim6]
        finally:
            rt.close()
            pykka.ActorRegistry.stop_all()


def _reached(victims: list[Recorder]) -> list[str]:
    return [path for victim in victims for path in victim.lines]


def test_sub_resources_never_reach_loopback(guarded: Any) -> None:
    rt, port, attacker, victims = guarded
    tab = call(rt, "tab:create", url=f"http://127.0.0.1:{port}/subresources", proxy="direct")
    assert tab["status"] == 200, tab
    assert attacker.wait_for(lambda paths: "/done" in paths, 60), "the page finished"
    assert _reached(victims) == [], "SSRF reached loopback"
    refused = rt.tabs().tab(tab["id"]).get().refused().get()
    assert any("loopback" in r for r in refused) and any("local or metadata name" in r
                                                         for r in refused)


@pytest.mark.parametrize("path", ["/redirect", "/redirect-hex", "/meta", "/js"])
def test_redirects_and_navigations_never_reach_loopback(guarded: Any, path: str) -> None:
    rt, port, _attacker, victims = guarded
    tab = call(rt, "tab:create", url=f"http://127.0.0.1:{port}/done", proxy="direct")
    error = refuse(rt, "tab:navigate", tab_id=tab["id"], url=f"http://127.0.0.1:{port}{path}") \
        if path.startswith("/redirect") else None
    if error is not None:
        assert "egress guard refused" in error, error
    else:  # the page loads, then navigates itself: the guard refuses the next hop
        call(rt, "tab:navigate", tab_id=tab["id"], url=f"http://127.0.0.1:{port}{path}")
        refused = rt.tabs().tab(tab["id"]).get().refused(1).get()
        assert refused, "the self-navigation was refused"
    assert _reached(victims) == [], "SSRF reached loopback"


@pytest.mark.parametrize("url", ["http://0x7f000001:{v}/", "http://127.1:{v}/",
                                 "http://localhost.:{v}/", "http://[::1]:{v}/",
                                 "http://metadata.google.internal.:{v}/"])
def test_the_url_text_check_reads_hosts_as_browsers_do(guarded: Any, url: str) -> None:
    rt, port, _attacker, victims = guarded
    error = refuse(rt, "tab:create", url=url.format(v=port + 1), proxy="direct")
    assert error.startswith("url: ") and "allow_private_targets is off" in error
    assert _reached(victims) == []


def test_session_load_and_tab_resume_check_the_target_too(data_dir: Path) -> None:
    """URLs stored while the allowance was on (or written into the store some other way)
    are checked again when a session is loaded or an open tab is resumed."""
    with serve({"/": (200, {}, "<title>victim</title>")}) as (port, victim):
        lab = open_runtime(data_dir)  # the allowance on: a lab
        try:
            call(lab, "tab:create", url=f"http://127.0.0.1:{port}/", proxy="direct")
            call(lab, "session:save", name="lab")
            assert victim.lines.count("/") == 1
            lab.close(keep_tabs=True)  # the tab stays open on record, as on a host stop
        finally:
            pykka.ActorRegistry.stop_all()
        rt = open_runtime(data_dir, allow_private_targets=False)
        try:
            assert rt.resume_tabs() == []
            assert call(rt, "tab:list") == [], "the tab was closed on record, with the reason"
            error = refuse(rt, "session:load", name="lab")
            assert error.startswith("tabs.1.url: 127.0.0.1 is a loopback address"), error
            assert call(rt, "tab:list") == []
        finally:
            rt.close()
            pykka.ActorRegistry.stop_all()
        assert victim.lines.count("/") == 1, "nothing after the allowance went off"


def test_a_proxy_on_a_loopback_address_is_not_a_way_around_the_guard(guarded: Any) -> None:
    """Issue 31, point 3: behind a proxy on 127.0.0.1, a page's img, iframe, fetch and
    redirects to 127.0.0.1:other-port went through it and the internal page's title was
    recorded. Such a proxy is treated as a direct connection: refused unless allowed."""
    rt, port, attacker, victims = guarded
    with pproxy("http") as local:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                        port=local.port)["id"]
        said = refuse(rt, "tab:create", url=f"http://127.0.0.1:{port}/subresources",
                      proxy=proxy_id)
        assert said.startswith(f"proxy: proxy 127.0.0.1:{local.port}: ") and \
            "VIPB_EGRESS_ALLOW" in said, said
        picked = refuse(rt, "tab:create", url=f"http://127.0.0.1:{port}/subresources")
        assert "could reach this machine's" in picked, "the rotation's pick likewise"
    assert _reached(victims) == [] and attacker.lines == [], "nothing was loaded"
