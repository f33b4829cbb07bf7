"""Proxy line parsing for `vipb proxy add URL` and `vipb proxy import`."""

from __future__ import annotations

import pytest

from domain.proxy_lines import parse_proxy_line


def test_url_with_encoded_credentials() -> None:
    assert parse_proxy_line("socks5://al%40ice:p%3Ass@Example.com:1080") == {
        "protocol": "socks5", "host": "example.com", "port": 1080,
        "username": "al@ice", "password": "p:ss",
    }


def test_colon_forms_use_the_default_protocol() -> None:
    assert parse_proxy_line("10.0.0.1:3128", "socks4") == {
        "protocol": "socks4", "host": "10.0.0.1", "port": 3128}
    assert parse_proxy_line("10.0.0.1:3128:bob:pa:ss") == {
        "protocol": "http", "host": "10.0.0.1", "port": 3128, "username": "bob",
        "password": "pa:ss"}


def test_ipv6_forms() -> None:
    assert parse_proxy_line("[::1]:8080")["host"] == "::1"
    assert parse_proxy_line("http://[::1]:8080")["host"] == "::1"


@pytest.mark.parametrize(
    "line",
    ["", "ftp://h:1", "http://h", "http://h:1/path", "h", "h:port", "h:1:2", "http://h:99999",
     "[::1]8080"],
)
def test_shapeless_lines_raise_value_error(line: str) -> None:
    with pytest.raises(ValueError):
        parse_proxy_line(line)
