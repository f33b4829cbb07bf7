"""Whose fault a failed load is, from the error texts Chromium and Playwright really give."""

from __future__ import annotations

import pytest

from domain.route_fault import RouteFault, route_fault


@pytest.mark.parametrize("message", [
    "net::ERR_PROXY_CONNECTION_FAILED at https://www.bing.com/search?q=x",
    "net::ERR_TUNNEL_CONNECTION_FAILED at https://duckduckgo.com/html/?q=x",
    "net::ERR_SOCKS_CONNECTION_FAILED at http://127.0.0.1:8080/",
    "net::ERR_SOCKS_CONNECTION_HOST_UNREACHABLE at http://example.com/",
    "net::ERR_PROXY_AUTH_UNSUPPORTED at http://example.com/",
    "net::ERR_NO_SUPPORTED_PROXIES at http://example.com/",
])
def test_errors_that_name_the_proxy_are_the_proxys(message: str) -> None:
    assert route_fault(message) is RouteFault.PROXY


@pytest.mark.parametrize("message", [
    "net::ERR_CONNECTION_RESET at http://127.0.0.1:4000/search?q=x",
    "net::ERR_CONNECTION_CLOSED at https://www.google.com/search?q=x",
    "net::ERR_EMPTY_RESPONSE at http://127.0.0.1:4000/",
    "net::ERR_CONNECTION_ABORTED at http://127.0.0.1:4000/",
    "net::ERR_TIMED_OUT at https://www.bing.com/",
    "Timeout 30000ms exceeded.",
    "Timeout 2500.5ms exceeded.",
])
def test_resets_and_silence_are_suspects_a_fresh_tunnel_decides(message: str) -> None:
    assert route_fault(message) is RouteFault.SUSPECT


@pytest.mark.parametrize("message", [
    "navigation aborted (the work it was for was stopped)",
    "net::ERR_ABORTED at https://example.com/download.zip",
    "net::ERR_NAME_NOT_RESOLVED at https://no-such-host.example/",
    "net::ERR_CERT_AUTHORITY_INVALID at https://self-signed.example/",
    "net::ERR_BLOCKED_BY_CLIENT at http://tracker.example/",
    "the tab's page is closed",
    "refused by vipb: 127.0.0.1 is a loopback address",
    "browser operation timed out after 60s",
])
def test_the_sites_the_networks_and_our_own_failures_are_never_the_proxys(message: str) -> None:
    assert route_fault(message) is RouteFault.NONE
