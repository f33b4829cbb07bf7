"""`vipb rank report` and `vipb rank chart` on real recorded searches: the JSON rows say
latest, previous, best and change right; the HTML report opened in real Chromium makes no
request and logs no error, its chart points are the recorded positions (position 1 at the
top), and a screenshot is not blank; charts come out as SVG without script and as PNG."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pykka

from domain.creator import Creator
from domain.creator_commands import AddCreator
from domain.parsing import parse_command
from domain.rank_commands import AddDomain, AddKeyword
from service.bootstrap import bootstrap
from tests.helpers import Cli, chromium_page, finished_search, png_pixels

# shop.example: 7, then not ranked, then 4; blog.example: 3, then 5, then not ranked
SEARCHES: list[dict[str, int | None]] = [
    {"shop.example": 7, "blog.example": 3},
    {"shop.example": None, "blog.example": 5},
    {"shop.example": 4, "blog.example": None},
]


def _record(data_dir: Path) -> None:
    rt = bootstrap(data_dir)
    try:
        for domain in ("shop.example", "blog.example"):
            rt.dispatcher.execute(parse_command(AddDomain, {"domain": domain}))
        rt.dispatcher.execute(parse_command(AddKeyword, {"keyword": "coffee", "engine": "bing",
                                                         "country": "DE"}))
        for positions in SEARCHES:
            rt.writer.save(finished_search("coffee", "bing", "DE", positions, path="coffee",
                                           features={"ads_top": 2}))
        ack = rt.dispatcher.execute(parse_command(AddCreator, {
            "name": "jane", "url": "https://example.com/@jane", "platform": "blog"}))
        creator = rt.writer.load(Creator, uuid.UUID(ack.id))
        assert creator is not None
        creator.record_check(reachable=False, reason="timeout", http_status=None,
                             final_url=None, title=None, canonical_url=None, fingerprint=None,
                             latency_ms=None, proxy_id=None, attempts=3)
        rt.writer.save(creator)
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def _open(html: Path) -> dict[str, Any]:
    """Load the file in Chromium; what it requested, logged and drew."""
    with chromium_page() as watched:
        page = watched.page
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        creators = page.evaluate("""() => [...document.querySelectorAll('table')].pop()
            .innerText""")
        drawn = page.evaluate("""() => [...document.querySelectorAll('section svg')].map(
            svg => ({
              legend: [...svg.querySelectorAll('.legend text')].map(t => t.textContent),
              series: [...svg.querySelectorAll('.plot .series')].filter(
                  g => g.querySelector('.dots')).map(g => [...g.querySelectorAll(
                  'desc.value')].map(d => Number(d.textContent.split(': ').pop()))),
              top: [...svg.querySelectorAll('.axis.y .guides text')].map(
                  t => ({y: t.getBBox().y, label: t.textContent}))
            }))""")
        shot = page.locator("section svg").first.screenshot()
    return {"requests": watched.requests, "console": watched.console, "drawn": drawn,
            "shot": shot, "creators": creators}


def test_report_rows_html_in_chromium_and_charts(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli("init").code == 0
    _record(data)
    rows = {r["domain"]: r for r in cli("rank", "report", "--json").json()["rows"]}
    shop, blog = rows["shop.example"], rows["blog.example"]
    assert (shop["latest"], shop["previous"], shop["best"], shop["change"]) == (4, None, 4, None)
    assert (blog["latest"], blog["previous"], blog["best"], blog["change"]) == (None, 5, 3, None)
    assert [p["position"] for p in shop["series"]] == [7, None, 4]
    assert shop["features"] == {"ads_top": 2} and shop["first_seen"] is not None
    summary, *table = cli("rank", "report").out.splitlines()
    assert summary.startswith("since ") and summary.endswith(
        ": 2 keyword x domain pair(s): 1 up, 1 lost; average position 4.0; top 3 0%, "
        "top 10 50%, top 100 50%"), summary
    assert table[0].split() == ["keyword", "engine", "country", "device", "domain", "latest",
                                "change", "best"]
    assert table[1].split()[:4] == ["coffee", "bing", "DE", "desktop"]
    moved = {line.split()[4]: line.split()[-2] for line in table[1:3]}
    # since the period began (its first search here: nothing before it): 7 -> 4, 3 -> gone
    assert moved == {"shop.example": "+3", "blog.example": "lost"}, table
    assert (shop["movement"], blog["movement"]) == ("+3", "lost")
    assert len(cli("rank", "report", "--country", "DE", "--json").json()["rows"]) == 2
    assert cli("rank", "report", "--country", "FR", "--json").json()["rows"] == []
    assert cli("rank", "report", "--device", "mobile", "--json").json()["rows"] == []
    as_csv = list(csv.DictReader(io.StringIO(cli("rank", "report", "-f", "csv").out)))
    assert {r["domain"]: r["best"] for r in as_csv} == {"blog.example": "3", "shop.example": "4"}
    assert cli("rank", "report", "--domain", "shop.example", "--json").json()["rows"][0][
        "domain"] == "shop.example"
    refused = cli("rank", "report", "-f", "pdf")
    assert refused.code == 2 and "format: must be one of table, csv, json, html" in refused.err

    html = tmp_path / "report.html"
    assert cli("rank", "report", "-f", "html", "-o", str(html)).code == 0
    text = html.read_text()
    assert "<script" not in text and "Content-Security-Policy" in text
    seen = _open(html)
    assert seen["requests"] == [html.as_uri()]  # the file itself, nothing else
    assert seen["console"] == []
    assert "jane\tblog" in seen["creators"] and "unreachable: timeout" in seen["creators"]
    [chart] = seen["drawn"]
    plotted = dict(zip(chart["legend"], chart["series"], strict=True))
    assert plotted == {"blog.example": [3, 5], "shop.example": [7, 4]}
    labels = sorted(chart["top"], key=lambda t: t["y"])
    assert labels[0]["label"] == "1"  # position 1 at the top
    pixels = [p for row in png_pixels(base64.b64encode(seen["shot"]).decode()) for p in row]
    assert len(set(pixels)) > 10  # text, lines, colours: the chart is drawn, not blank

    # times on the reader's clock, the zone named (issue 32, point 7: they were UTC)
    tokyo = tmp_path / "tokyo.html"
    assert cli("--tz", "Asia/Tokyo", "rank", "report", "-f", "html", "-o", str(tokyo)).code == 0
    checked = cli("creator", "list", "--json").json()[0]["last_checked_at"]
    local = datetime.fromisoformat(checked).astimezone(ZoneInfo("Asia/Tokyo"))
    page = tokyo.read_text()
    assert "times in Asia/Tokyo" in page and "time (Asia/Tokyo)" in page
    assert f"<td>{local:%Y-%m-%d %H:%M}</td>" in page and " UTC" not in page

    svg, png = tmp_path / "chart.svg", tmp_path / "chart.png"
    made = cli("rank", "chart", "-k", "coffee", "-o", str(svg))
    assert made.code == 0 and made.out.startswith(f"wrote {svg}: coffee on bing DE")
    assert svg.read_text().startswith("<svg") and "<script" not in svg.read_text()
    assert cli("rank", "chart", "-k", "coffee", "-o", str(png), "--json").json()["points"] == 4
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    none = cli("rank", "chart", "-k", "tea", "-o", str(svg))
    assert none.code == 2 and "no searches of 'tea'" in none.err
