"""Health checks through real proxies on 127.0.0.1 (pproxy) and deliberately faulty ones."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.egress import EgressGuard, Resolver
from adapters.proxycheck import ProxyChecker, ProxyEndpoint
from domain.egress import EgressPolicy
from domain.health import Anonymity, Failure
from scripts.fixtures.servers import (
    echo_server,
    forwarding_echo,
    free_port,
    hanging,
    have,
    loopback_tls,
    microsocks,
    pproxy,
    replying,
    tcp_server,
    tinyproxy,
)

needs_debian_servers = pytest.mark.skipif(
    not (have("microsocks") and have("tinyproxy")) and not os.environ.get("CI"),
    reason="microsocks/tinyproxy not installed (scripts/install.sh installs them as root)")


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with echo_server() as url:
        yield url


def check(url: str, endpoint: ProxyEndpoint, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    checker = ProxyChecker(url, samples=3, timeout=timeout, egress=LAB)
    return asyncio.run(checker.check_many([endpoint]))[endpoint.id]


LAB = EgressGuard(EgressPolicy(allow_private=True))  # the check target is a local server


def ep(protocol: str, port: int, user: str | None = None, password: str | None = None
       ) -> ProxyEndpoint:
    return ProxyEndpoint("p", protocol, "127.0.0.1", port, user, password)


def test_http_proxy_with_basic_auth(echo_url: str) -> None:
    with pproxy("http", "alice", "s3cret") as proxy:
        good = check(echo_url, ep("http", proxy.port, "alice", "s3cret"))
        assert good.ok and good.samples == 3 and good.latency_ms and good.latency_ms > 0
        assert good.exit_ip == "127.0.0.1" and good.anonymity is Anonymity.ELITE
        bad = check(echo_url, ep("http", proxy.port, "alice", "wrong"))
        assert not bad.ok and bad.failure is Failure.AUTH and bad.http_status == 407
        none = check(echo_url, ep("http", proxy.port))
        assert none.failure is Failure.AUTH


def test_socks5_proxy_with_auth_pproxy(echo_url: str) -> None:
    with pproxy("socks5", "bob", "pw") as proxy:
        good = check(echo_url, ep("socks5", proxy.port, "bob", "pw"))
        assert good.ok and good.exit_ip == "127.0.0.1"
        bad = check(echo_url, ep("socks5", proxy.port, "bob", "nope"))
        # pproxy hangs up on bad credentials instead of answering the auth sub-negotiation
        assert not bad.ok and bad.failure is Failure.DROPPED and "handshake" in bad.message


def test_a_socks_proxy_closing_mid_handshake_is_dropped_whatever_the_timing(
        echo_url: str) -> None:
    """pproxy hangs up on wrong credentials; depending on when the close arrives (a busy
    machine), python-socks saw a reset or its own short read, and the check said
    "proxy_error: Connection closed unexpectedly" one time in many. Here the close comes
    after the credentials are read, every time: the short read path, deterministically."""
    async def closes_after_auth(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(3)  # greeting: version, 1 method, user/password
        writer.write(b"\x05\x02")  # use user/password
        await writer.drain()
        await reader.read(512)  # the credentials
        writer.close()  # no answer: hang up

    with tcp_server(closes_after_auth) as port:
        bad = check(echo_url, ep("socks5", port, "bob", "nope"))
    assert (bad.ok, bad.failure) == (False, Failure.DROPPED), bad
    assert "hung up during the SOCKS handshake" in bad.message


@needs_debian_servers
def test_socks5_auth_failure_is_reported_as_auth(echo_url: str) -> None:
    with microsocks("carol", "pw") as proxy:
        assert check(echo_url, ep("socks5", proxy.port, "carol", "pw")).ok
        bad = check(echo_url, ep("socks5", proxy.port, "carol", "nope"))
    assert bad.failure is Failure.AUTH


@needs_debian_servers
def test_tinyproxy_basic_auth_and_via_header(echo_url: str, tmp_path: Path) -> None:
    with tinyproxy(tmp_path, "dave", "pw") as proxy:
        good = check(echo_url, ep("http", proxy.port, "dave", "pw"))
        bad = check(echo_url, ep("http", proxy.port, "dave", "nope"))
    assert good.ok and good.anonymity is Anonymity.ANONYMOUS  # tinyproxy adds Via
    assert bad.failure is Failure.AUTH and bad.http_status == 401  # tinyproxy's choice


def test_socks4_proxy(echo_url: str) -> None:
    with pproxy("socks4") as proxy:
        assert check(echo_url, ep("socks4", proxy.port)).ok


def test_refused(echo_url: str) -> None:
    report = check(echo_url, ep("http", free_port()))
    assert report.failure is Failure.REFUSED
    report = check(echo_url, ep("socks5", free_port()))
    assert report.failure is Failure.REFUSED


def test_hanging_proxy_times_out(echo_url: str) -> None:
    with tcp_server(hanging()) as port:
        report = check(echo_url, ep("http", port), timeout=0.5)
    assert report.failure is Failure.TIMEOUT


def test_407_answering_proxy(echo_url: str) -> None:
    answer = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    with tcp_server(replying(answer)) as port:
        report = check(echo_url, ep("http", port, "u", "p"))
    assert report.failure is Failure.AUTH and report.http_status == 407


def test_garbage_answering_proxy(echo_url: str) -> None:
    with tcp_server(replying(b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff\xfe")) as port:
        report = check(echo_url, ep("http", port))
    assert report.failure is Failure.GARBAGE


def test_proxy_dropping_mid_response(echo_url: str) -> None:
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"origin\": \"1."
    with tcp_server(replying(partial)) as port:
        report = check(echo_url, ep("http", port))
    assert report.failure is Failure.DROPPED


def test_proxy_closing_without_answer(echo_url: str) -> None:
    with tcp_server(replying(b"")) as port:
        report = check(echo_url, ep("http", port))
    assert report.failure is Failure.DROPPED


def test_bad_gateway_is_a_bad_status(echo_url: str) -> None:
    with tcp_server(replying(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")) as port:
        report = check(echo_url, ep("http", port))
    assert report.failure is Failure.BAD_STATUS and report.http_status == 502


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Forwarded-For": "127.0.0.1"}, Anonymity.TRANSPARENT),
        ({"Via": "1.1 squid"}, Anonymity.ANONYMOUS),
        ({}, Anonymity.ELITE),
    ],
)
def test_anonymity_levels(echo_url: str, headers: dict[str, str], expected: Anonymity) -> None:
    with tcp_server(forwarding_echo(headers)) as port:
        report = check(echo_url, ep("http", port))
    assert report.ok and report.anonymity is expected and report.exit_ip == "203.0.113.9"


def test_many_checks_respect_the_concurrency_bound(echo_url: str) -> None:
    with pproxy("http") as proxy:
        endpoints = [ProxyEndpoint(str(i), "http", "127.0.0.1", proxy.port) for i in range(30)]
        seen: list[tuple[int, int]] = []
        checker = ProxyChecker(echo_url, samples=1, timeout=5, concurrency=4, egress=LAB)
        results = asyncio.run(checker.check_many(endpoints, lambda d, t: seen.append((d, t))))
    assert len(results) == 30 and all(r.ok for r in results.values())
    assert seen[-1] == (30, 30) and [d for d, _ in seen] == list(range(1, 31))


class DnsToLoopback(Resolver):
    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


def test_the_direct_probe_never_reaches_a_private_address() -> None:
    """The attack: --check-url naming a host that resolves to loopback (or spelled
    0x7f000001): the one direct fetch of a validation must not reach it."""
    seen: list[str] = []

    async def victim_handler(_reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        seen.append("connected")
        writer.close()

    with tcp_server(victim_handler) as victim:
        for url in (f"http://rebind.test:{victim}/get", f"http://0x7f000001:{victim}/get",
                    f"http://[::ffff:127.0.0.1]:{victim}/get"):
            checker = ProxyChecker(url, samples=1, timeout=5,
                                   egress=EgressGuard(EgressPolicy(), DnsToLoopback()))
            problem = asyncio.run(checker.probe())
            assert problem is not None and problem.startswith("egress guard refused"), problem
            assert "loopback" in problem
    assert seen == []


def test_check_url_must_be_http() -> None:
    with pytest.raises(ValueError):
        ProxyChecker("ftp://127.0.0.1/")


@pytest.fixture(scope="module")
def https_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An https check URL with a certificate of a local CA that the checker trusts (as
    Python's default context does, through SSL_CERT_FILE)."""
    ca, context = loopback_tls(tmp_path_factory.mktemp("tls"))
    old = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(ca)
    try:
        with echo_server(tls=context) as url:
            yield url
    finally:
        if old is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = old


def test_an_https_check_url_goes_through_a_connect_tunnel(https_echo: str) -> None:
    """The default check URL is https (issue 32, point 8): HTTP proxies reach it by CONNECT,
    SOCKS ones by their connect request, TLS end to end."""
    with pproxy("http", "alice", "s3cret") as proxy:
        good = check(https_echo, ep("http", proxy.port, "alice", "s3cret"))
        bad = check(https_echo, ep("http", proxy.port, "alice", "wrong"))
    assert good.ok and good.samples == 3 and good.exit_ip == "127.0.0.1", good
    assert bad.failure is Failure.AUTH and bad.http_status == 407
    with pproxy("socks5") as proxy:
        assert check(https_echo, ep("socks5", proxy.port)).ok
    refusing = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
    with tcp_server(replying(refusing)) as port:
        refused = check(https_echo, ep("http", port))
    assert refused.failure is Failure.PROXY_ERROR and refused.http_status == 403
    assert "refused CONNECT" in refused.message
    with tcp_server(replying(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")) as port:
        assert check(https_echo, ep("http", port)).failure is Failure.GARBAGE


@needs_debian_servers
def test_tinyproxy_tunnels_to_an_https_check_url(https_echo: str, tmp_path: Path) -> None:
    port = int(https_echo.rsplit(":", 1)[1].split("/")[0])
    with tinyproxy(tmp_path, "dave", "pw", connect_ports=(443, port)) as proxy:
        good = check(https_echo, ep("http", proxy.port, "dave", "pw"))
        bad = check(https_echo, ep("http", proxy.port, "dave", "nope"))
    assert good.ok, good
    assert bad.failure is Failure.AUTH
    with tinyproxy(tmp_path, "dave", "pw", connect_ports=(443,)) as proxy:  # as shipped
        other_port = check(https_echo, ep("http", proxy.port, "dave", "pw"))
    assert other_port.failure is Failure.PROXY_ERROR and other_port.http_status == 403
    assert "tunnel only to port 443" in other_port.message
