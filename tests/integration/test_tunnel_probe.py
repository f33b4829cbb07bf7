"""``tunnel_fault`` against real servers on loopback: proxies that refuse, reset, stay silent
or answer garbage are at fault; real proxies (pproxy, tinyproxy, microsocks) that answer, even
with a refusal of the target, are cleared; no credential ever shows in what it says."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from adapters.proxycheck import tunnel_fault
from scripts.fixtures.servers import (
    free_port,
    hanging,
    pproxy,
    replying,
    resetting,
    tcp_server,
)


def _probe(protocol: str, port: int, target_port: int, username: str | None = None,
           password: str | None = None, timeout: float = 2.0) -> str | None:
    return asyncio.run(tunnel_fault(protocol, "127.0.0.1", port, username, password,
                                    "127.0.0.1", target_port, timeout=timeout))


@pytest.fixture
def target() -> Iterator[int]:
    """A site that accepts connections and answers."""
    with tcp_server(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) as port:
        yield port


@pytest.mark.parametrize("protocol", ["http", "socks5", "socks4"])
def test_a_proxy_that_refuses_connections_is_at_fault(protocol: str, target: int) -> None:
    assert _probe(protocol, free_port(), target) == "the proxy refused a new connection"


@pytest.mark.parametrize("protocol", ["http", "socks5"])
def test_a_proxy_that_accepts_and_never_answers_is_at_fault(protocol: str, target: int) -> None:
    with tcp_server(hanging()) as port:
        assert _probe(protocol, port, target, timeout=0.5) == \
            "the proxy did not answer a new tunnel within 0.5 s"


def test_a_proxy_that_resets_every_connection_is_at_fault(target: int) -> None:
    with tcp_server(resetting()) as port:
        for protocol in ("http", "socks5", "socks4"):
            assert _probe(protocol, port, target) == \
                "the proxy hung up on a new tunnel before answering", protocol


def test_a_proxy_that_answers_garbage_is_at_fault(target: int) -> None:
    with tcp_server(replying(b"\x16\x03\x01 not http at all\r\n")) as port:
        assert _probe("http", port, target) == \
            "the proxy answered a tunnel request with something that is not HTTP"


@pytest.mark.parametrize("protocol", ["http", "socks5", "socks4"])
def test_a_working_proxy_is_cleared(protocol: str, target: int) -> None:
    with pproxy(protocol) as proxy:
        assert _probe(protocol, proxy.port, target) is None


def test_a_working_proxy_is_cleared_when_the_site_resets_or_stalls() -> None:
    """The site's fault: the proxy opens the tunnel (TCP reaches the site), what happens
    inside is not the proxy's doing."""
    with pproxy("http") as proxy, tcp_server(resetting()) as reset, \
            tcp_server(hanging()) as silent:
        assert _probe("http", proxy.port, reset) is None
        assert _probe("http", proxy.port, silent) is None


def test_a_socks_proxy_refusing_the_target_answered_and_is_cleared() -> None:
    with pproxy("socks5") as proxy:
        assert _probe("socks5", proxy.port, free_port()) is None  # reply: connection refused


@pytest.mark.skipif(shutil.which("tinyproxy") is None, reason="apt-get install tinyproxy")
def test_tinyproxy_refusing_a_dead_target_answered_and_is_cleared(tmp_path) -> None:
    port = free_port()
    conf = tmp_path / "tinyproxy.conf"
    conf.write_text(f"Port {port}\nListen 127.0.0.1\nTimeout 5\nMaxClients 10\n"
                    "Allow 127.0.0.1\nConnectPort 0\n")
    process = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        assert _probe("http", port, free_port()) is None
    finally:
        process.kill()
        process.wait(10)


def _wait_port(port: int) -> None:
    import socket

    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            asyncio.run(asyncio.sleep(0.01))
    raise RuntimeError("tinyproxy did not start")


def test_credentials_never_show_in_what_it_says(target: int) -> None:
    secret = "s3cr3t-pw-xyz"
    with tcp_server(replying(b"garbage\r\n")) as garbage, tcp_server(resetting()) as reset, \
            tcp_server(hanging()) as silent:
        said = [_probe(protocol, port, target, "user-abc", secret, timeout=0.5)
                for protocol in ("http", "socks5") for port in (garbage, reset, silent)]
    assert all(said), said
    assert not any(secret in s or "user-abc" in s for s in said if s)
