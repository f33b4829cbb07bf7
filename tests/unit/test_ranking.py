"""Rank rules (domain matching, best position), cron due times, click-tracking links."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.serp import unwrap
from domain.cron import check_cron, due, next_after
from domain.rank import SearchTask
from domain.ranking import host_matches, movement, normalize_domain, rank


@pytest.mark.parametrize(("text", "expected"), [
    ("Example.COM", "example.com"), ("www.example.com.", "example.com"),
    ("bücher.de", "xn--bcher-kva.de"), ("shop.example.co.uk", "shop.example.co.uk")])
def test_domains_are_normalised(text, expected) -> None:
    assert normalize_domain(text) == expected


@pytest.mark.parametrize("text", ["https://example.com", "localhost", "10.0.0.1", "::1",
                                  "exa mple.com", "-bad-.com", ""])
def test_bad_domains_are_refused(text) -> None:
    with pytest.raises(ValueError):
        normalize_domain(text)


def test_subdomains_count_unless_exact() -> None:
    assert host_matches("blog.example.com", "example.com", True)
    assert not host_matches("blog.example.com", "example.com", False)
    assert host_matches("www.example.com", "example.com", False)
    assert not host_matches("notexample.com", "example.com", True), "suffix is not a subdomain"


def test_rank_reports_the_best_position_and_not_ranked() -> None:
    results = ["https://a.test/", "https://www.x.test/1", "https://sub.x.test/2", "https://y.test/"]
    got = {r.domain: (r.position, r.url, r.scanned) for r in
           rank(results, {"x.test": True, "y.test": False, "z.test": True})}
    assert got == {"x.test": (2, "https://www.x.test/1", 4), "y.test": (4, "https://y.test/", 4),
                   "z.test": (None, None, 4)}


hosts = st.sampled_from(["a.test", "www.a.test", "b.a.test", "c.test", "ac.test"])


@given(st.lists(hosts, max_size=30), st.booleans())
def test_rank_position_is_the_first_match(result_hosts, subdomains) -> None:
    results = [f"https://{h}/{i}" for i, h in enumerate(result_hosts)]
    [r] = rank(results, {"a.test": subdomains})
    matches = [i for i, h in enumerate(result_hosts) if host_matches(h, "a.test", subdomains)]
    assert r.scanned == len(results)
    if matches:
        assert r.position == matches[0] + 1 and r.url == results[matches[0]]
    else:
        assert (r.position, r.url) == (None, None)


def test_cron_due_owes_the_latest_missed_run_and_counts_them() -> None:
    start = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    latest, count = due("0 * * * *", "UTC", start, datetime(2026, 1, 1, 5, 10, tzinfo=UTC))
    assert (latest, count) == (datetime(2026, 1, 1, 5, tzinfo=UTC), 5)
    assert due("0 * * * *", "UTC", start, datetime(2026, 1, 1, 0, 59, tzinfo=UTC)) == (None, 0)
    berlin = next_after("0 6 * * *", "Europe/Berlin", datetime(2026, 7, 1, tzinfo=UTC))
    assert berlin.astimezone(UTC) == datetime(2026, 7, 1, 4, tzinfo=UTC), "summer time"


@pytest.mark.parametrize("text", ["* * *", "60 * * * *", "* * * * * * *", "@reboot x"])
def test_bad_cron_is_refused(text) -> None:
    with pytest.raises(ValueError):
        check_cron(text)


def test_click_tracking_links_are_decoded_not_followed() -> None:
    target = "https://example.com/a?b=1"
    assert unwrap("https://duckduckgo.com/l/?uddg=" + quote(target, safe="") + "&rut=x") \
        == target
    assert unwrap("https://www.google.com/url?q=" + quote(target, safe="") + "&sa=U") == target
    token = "a1" + base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")
    assert unwrap(f"https://www.bing.com/ck/a?!&&p=abc&u={token}&ntb=1") == target
    assert unwrap("https://r.search.yahoo.com/_ylt=Awr;_ylu=Y29/RV=2/RE=1/RO=10/RU="
                  + quote(target, safe="").lower() + "/RK=2/RS=abc-") == target.lower()
    assert unwrap("https://yandex.com/redir?url=" + quote(target, safe="") + "&text=1") == target
    assert unwrap("https://yandex.com/redir?url=javascript%3Aalert(1)") == \
        "https://yandex.com/redir?url=javascript%3Aalert(1)"  # not a destination: kept
    assert unwrap(target) == target


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tehran",
         "America/Santiago", "Antarctica/Troll", "UTC"]


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(ZONES),
       cron=st.sampled_from(["30 2 * * *", "0 * * * *", "*/20 * * * *", "45 1 * * 0",
                             "0 0,3 * * *", "15 */2 * * *"]),
       start=st.datetimes(min_value=datetime(2026, 3, 18), max_value=datetime(2026, 4, 10))
       | st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2026, 11, 5)))
def test_fire_times_always_advance_and_fixed_times_fire_once_a_day(zone, cron, start) -> None:
    """Starts in the weeks of the clock changes of both hemispheres."""
    after = start.replace(tzinfo=UTC)
    fired = []
    for _ in range(30):
        nxt = next_after(cron, zone, after)
        assert nxt > after
        fired.append(nxt)
        after = nxt
    if not cron.split()[0].startswith("*") and not cron.split()[1].startswith("*"):
        shown = [f.astimezone(ZoneInfo(zone)) for f in fired]
        days_hours = [(s.date(), s.hour) for s in shown]
        assert len(days_hours) == len(set(days_hours)), "a fixed time fires once per day"


@pytest.mark.parametrize(("error", "reason"), [
    ("interrupted: host stopping", "interrupted"),
    ("no tab: no proxy is available", "no_tab"),
    ("google answered HTTP 429", "http_error"),
    ("bing answered with a captcha", "blocked"),
    ("net::ERR_PROXY_CONNECTION_FAILED at https://www.bing.com/search?q=x", "load_failed"),
    ("no #b_results (markup changed?)", "unreadable"),
    ("something nobody foresaw", "unknown"),
])
def test_v1_search_failures_get_a_reason_from_their_text(error: str, reason: str) -> None:
    state = {"attempt": 2, "error": error, "retry_in": None}
    SearchTask.SearchTaskFailed.upcast_v1_v2(state)
    assert state["reason"] == reason


@pytest.mark.parametrize(("position", "previous", "had_previous", "shown"), [
    (3, 8, True, "+5"), (9, 4, True, "-5"), (4, 4, True, "="), (2, None, False, "new"),
    (None, None, False, ""), (7, None, True, "entered"), (None, 6, True, "lost"),
    (None, None, True, ""),
])
def test_movement_in_the_words_of_rank_trackers(position: int | None, previous: int | None,
                                                 had_previous: bool, shown: str) -> None:
    """Issue 32, point 7: the report printed 5 where history printed +5, and a keyword that
    dropped out showed - or nothing instead of "lost"."""
    assert movement(position, previous, had_previous) == shown
