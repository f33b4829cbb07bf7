"""Movement over a period and comparisons (issue 33, point 1): `rank report --since` starts
with a summary and gives each row its change since the period began (the last search before
it); `rank compare` puts two times, two countries or two devices side by side. Searches are
recorded as a search records them (SearchTask events), at times the test separates."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, record_searches


def test_a_period_starts_where_the_last_search_before_it_stood(cli: Cli,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli("init").code == 0
    week_ago = record_searches(data, ("coffee", "DE", "desktop", {"shop.example": 9,
                                                            "blog.example": 4}),
                         ("tea", "DE", "desktop", {"shop.example": 2, "blog.example": None}))
    record_searches(data, ("coffee", "DE", "desktop", {"shop.example": 7, "blog.example": 5}),
              ("coffee", "DE", "desktop", {"shop.example": 3, "blog.example": None}),
              ("tea", "DE", "desktop", {"shop.example": 2, "blog.example": 8}),
              ("milk", "DE", "desktop", {"shop.example": 1, "blog.example": None}))
    report = cli("rank", "report", "--since", week_ago.isoformat(), "--json").json()
    rows = {(r["keyword"], r["domain"]): r for r in report["rows"]}
    moved = {key: (r["start"], r["latest"], r["movement"]) for key, r in rows.items()}
    assert moved == {  # against the search before the period, not the one before the latest
        ("coffee", "shop.example"): (9, 3, "+6"), ("coffee", "blog.example"): (4, None, "lost"),
        ("tea", "shop.example"): (2, 2, "="), ("tea", "blog.example"): (None, 8, "entered"),
        ("milk", "shop.example"): (None, 1, "new"), ("milk", "blog.example"): (None, None, "")}
    assert rows[("coffee", "shop.example")]["change"] == 4, "change: since the previous search"
    assert report["summary"] == {
        "pairs": 6, "improved": 1, "declined": 0, "unchanged": 1, "entered": 1, "lost": 1,
        "new": 1, "not_ranked": 1, "average_position": round((3 + 2 + 8 + 1) / 4, 1),
        "top_3": round(3 / 6, 3), "top_10": round(4 / 6, 3), "top_100": round(4 / 6, 3)}
    table = cli("rank", "report", "--since", week_ago.isoformat(), COLUMNS="120").out
    assert table.splitlines()[0].endswith(
        "6 keyword x domain pair(s): 1 up, 1 unchanged, 1 entered, 1 lost, 1 new, "
        "1 not ranked; average position 3.5; top 3 50%, top 10 67%, top 100 67%"), table
    assert "+6" in table and "lost" in table

    compared = cli("rank", "compare", "--from", week_ago.isoformat(), "--json").json()
    pairs = {(r["keyword"], r["domain"]): (r["a"], r["b"], r["movement"]) for r in compared}
    assert pairs[("coffee", "shop.example")] == (9, 3, "+6")
    assert pairs[("milk", "shop.example")] == (None, 1, "new")  # not searched then
    assert pairs[("tea", "blog.example")] == (None, 8, "entered")
    shown = cli("rank", "compare", "--from", week_ago.isoformat(), "--csv").out
    assert shown.splitlines()[0].startswith("keyword,engine,country,location,language,device")
    refused = cli("rank", "compare", "--from", "2026-12-06", "--to", "2026-12-01")
    assert refused.code == 2 and "--from must be before --to" in refused.err
    neither = cli("rank", "compare")
    assert neither.code == 2 and "compare one way" in neither.err


def test_two_countries_and_two_devices_side_by_side(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli("init").code == 0
    record_searches(data, ("coffee", "DE", "desktop", {"shop.example": 3, "blog.example": None}),
              ("coffee", "AT", "desktop", {"shop.example": 5, "blog.example": 2}),
              ("coffee", "AT", "mobile", {"shop.example": 8, "blog.example": 2}),
              ("tea", "DE", "desktop", {"shop.example": 1, "blog.example": None}))
    by_country = cli("rank", "compare", "--country", "DE", "--country", "AT", "--json").json()
    seen = {(r["keyword"], r["device"], r["domain"]): (r["a"], r["b"], r["movement"])
            for r in by_country}
    assert seen[("coffee", "desktop", "shop.example")] == (3, 5, "-2")
    assert seen[("coffee", "desktop", "blog.example")] == (None, 2, "entered")
    assert seen[("tea", "desktop", "shop.example")] == (1, None, "not searched")
    assert seen[("coffee", "mobile", "shop.example")] == (None, 8, "new")
    by_device = cli("rank", "compare", "--device", "desktop", "--device", "mobile",
                    "--country", "AT", "--json").json()
    assert {(r["domain"], r["a"], r["b"]) for r in by_device} == {
        ("shop.example", 5, 8), ("blog.example", 2, 2)}
    table = cli("rank", "compare", "--country", "DE", "--country", "AT").out.splitlines()
    assert table[0].split() == ["keyword", "engine", "device", "domain", "DE", "AT", "change"]
    both = cli("rank", "compare", "--country", "DE", "--country", "AT", "--from", "7d")
    assert both.code == 2 and "compare one way" in both.err
