"""Boundary rules: hosts, free text, regex patterns, countries."""

from __future__ import annotations

import pytest

from domain import rules
from domain.endpoints import endpoint_url, host_port


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Example.COM", "example.com"), ("10.0.0.1", "10.0.0.1"), ("[::1]", "::1"),
     ("proxy-1.internal", "proxy-1.internal"), ("a" * 63 + ".com", "a" * 63 + ".com")],
)
def test_valid_hosts_are_normalised(raw: str, expected: str) -> None:
    assert rules.check_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "a" * 256, "<script>", "exa mple.com", "-bad.com", "bad-.com", "1.2.3.999",
     "host/path", "a@b.com", ("a" * 64) + ".com"],
)
def test_invalid_hosts_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError):
        rules.check_host(raw)


@pytest.mark.parametrize(
    "raw",
    ["<script>alert(1)</script>", "javascript:alert(1)", "x onerror=alert(1)", "<img src=x>",
     "a>b", "line\nbreak", "DATA:text/html,hi"],
)
def test_markup_and_scripts_are_rejected_in_text(raw: str) -> None:
    with pytest.raises(ValueError):
        rules.check_text(raw)


def test_plain_text_passes_and_is_stripped() -> None:
    assert rules.check_text("  fast residential (DE)  ") == "fast residential (DE)"


@pytest.mark.parametrize("pattern", ["(a+)+", "(a*)*b", "(x|y+){2,}", "a" * 201, "(unclosed"])
def test_dangerous_or_broken_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(ValueError):
        rules.check_pattern(pattern)


@pytest.mark.parametrize("pattern", [r"^shop\.", r"\.example\.com$", "(foo|bar)baz", "a+b*"])
def test_safe_patterns_pass(pattern: str) -> None:
    assert rules.check_pattern(pattern) == pattern


def test_country_codes() -> None:
    assert rules.check_country("de") == "DE"
    with pytest.raises(ValueError):
        rules.check_country("DEU")


def test_credentials_bounds() -> None:
    assert rules.check_credential("x" * 255)
    for bad in ("", "x" * 256, "a\x00b"):
        with pytest.raises(ValueError):
            rules.check_credential(bad)


@pytest.mark.parametrize(("host", "port", "expected"), [
    ("127.0.0.1", 8080, "127.0.0.1:8080"),
    ("proxy.example.com", 3128, "proxy.example.com:3128"),
    ("::1", 1080, "[::1]:1080"),
    ("[2001:db8::7]", 443, "[2001:db8::7]:443"),  # already bracketed: not twice
])
def test_one_endpoint_formatter_brackets_ipv6(host: str, port: int, expected: str) -> None:
    assert host_port(host, port) == expected
    assert endpoint_url("socks5", host, port) == f"socks5://{expected}"
