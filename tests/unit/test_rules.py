"""Boundary rules: hosts, free text, regex patterns, countries."""

from __future__ import annotations

import re

import pytest

from domain import rules
from domain.endpoints import endpoint_url, host_port
from domain.patterns import UserPattern


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


@pytest.mark.parametrize(("pattern", "reason"), [
    ("a" * 201, "at most 200"),
    ("(unclosed", "missing )"),
    ("shop(?=\\.)", "invalid perl operator"),  # look-ahead: backtracking only
    ("(a)\\1", "invalid escape"),  # back-reference: backtracking only
    ("a{1000}{1000}", "bad repetition"),
])
def test_patterns_re2_cannot_run_are_refused_with_its_reason(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        rules.check_pattern(pattern)


# The shapes that froze the host under Python's backtracking engine: each one against
# "aaaa...!" costs 2**n steps there. RE2 accepts them and answers in linear time, so these
# tests finish; on a backtracking engine they hang until pytest-timeout fails them.
CATASTROPHIC = [("((a+))+$", True), ("(?:(?:a+))+$", True), ("(a|a)+$", True),
                ("(a+)+$", True), ("(a*)*b", False), ("(a|a?)+c", False)]


@pytest.mark.parametrize(("pattern", "matches_all_a"), CATASTROPHIC)
def test_catastrophic_shapes_run_in_linear_time(pattern: str, matches_all_a: bool) -> None:
    compiled = UserPattern(rules.check_pattern(pattern))
    assert compiled.search("a" * 5000 + "!") is False
    assert compiled.search("a" * 40) is matches_all_a


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
