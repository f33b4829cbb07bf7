"""What the HTTP tier presents and decides, without a network: the curl-impersonate target
for a profile's Chrome, the navigation headers in Chrome's order, and which way a search
goes (``actors.fetch_ways``)."""

from __future__ import annotations

import itertools

import pytest

from actors.fetch_ways import FetchWays
from adapters.fingerprints import generate_fingerprint
from adapters.pagefetch import impersonation, navigation_headers
from adapters.pagefetch._chrome import _targets

FP = generate_fingerprint(3, locale="en-US").for_engine("156.0.7000.12")
LANGS = ("en-US", "en")


def test_the_target_is_the_newest_chrome_not_newer_than_the_profiles() -> None:
    desktop = _targets()["desktop"]
    newest = desktop[-1]
    assert impersonation(newest[0] + 30, "Windows", False) == newest[1]
    for (version, name), (after, _) in itertools.pairwise(desktop):
        assert impersonation(version, "Linux", False) == name
        assert impersonation(after - 1, "Linux", False) == name, "between two: the older"
    assert impersonation(1, "Windows", False) == desktop[0][1], "older than any: the oldest"
    assert impersonation(200, "Android", True).endswith("_android")
    assert impersonation(200, "macOS", False).endswith("_macos")
    assert "a" not in impersonation(133, "Windows", False).removeprefix("chrome")


def test_navigation_headers_are_chromes_in_its_order() -> None:
    typed = navigation_headers(FP, LANGS, "https://www.bing.com/search?q=x")
    names = [name for name, _ in typed]
    assert names == ["sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
                     "Upgrade-Insecure-Requests", "User-Agent", "Accept", "Sec-Fetch-Site",
                     "Sec-Fetch-Mode", "Sec-Fetch-User", "Sec-Fetch-Dest", "Accept-Encoding",
                     "Accept-Language", "Priority"]
    values = dict(typed)
    assert values["User-Agent"] == FP.user_agent
    assert values["sec-ch-ua"] == ", ".join(f'"{b}";v="{v}"' for b, v in FP.brands)
    assert (values["Sec-Fetch-Site"], values["Accept-Encoding"]) == \
        ("none", "gzip, deflate, br, zstd")
    assert values["Accept-Language"] == "en-US,en;q=0.9"


@pytest.mark.parametrize(("url", "referer", "site"), [
    ("https://www.bing.com/search?q=x&first=11", "https://www.bing.com/search?q=x",
     "same-origin"),
    ("https://www.bing.com/search?q=x", "https://html.duckduckgo.com/html/", "cross-site")])
def test_a_followed_link_says_where_it_came_from(url: str, referer: str, site: str) -> None:
    values = dict(navigation_headers(FP, LANGS, url, referer))
    assert (values["Sec-Fetch-Site"], values["Referer"]) == (site, referer)


def test_insecure_origins_get_no_client_hints_nor_brotli() -> None:
    plain = dict(navigation_headers(FP, LANGS, "http://search.example/?q=x"))
    assert "sec-ch-ua" not in plain and "Priority" not in plain
    assert plain["Accept-Encoding"] == "gzip, deflate"
    local = dict(navigation_headers(FP, LANGS, "http://127.0.0.1:8080/?q=x"))
    assert "sec-ch-ua" in local, "loopback is a secure origin to Chrome"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_auto_goes_over_http_until_a_challenge_then_tabs_for_a_while() -> None:
    clock = Clock()
    ways = FetchWays(clock=clock, remember=3600)
    assert ways.way("bing", "auto", "p1") == "http"
    ways.remember("bing", "p1")
    assert ways.way("bing", "auto", "p1") == "browser"
    assert ways.way("bing", "auto", "p2") == "http", "another proxy is not sent to tabs"
    assert ways.way("duckduckgo", "auto", "p1") == "http", "nor another engine"
    ways.remember("bing", None)
    assert ways.way("bing", "auto", None) == "browser"
    clock.now += 3600
    assert ways.way("bing", "auto", "p1") == "http", "the memory runs out"


def test_declared_and_forced_ways() -> None:
    ways = FetchWays()
    assert ways.way("google", "browser", None) == "browser"
    assert ways.way("bing", "http", None) == "http"
    ways.remember("bing", None)
    assert ways.way("bing", "http", None) == "http", "http engines never go to tabs"
    forced = FetchWays("browser")
    assert forced.way("bing", "http", None) == forced.way("bing", "auto", None) == "browser"
