"""The HTML report as people see it, in real Chromium (issue 33, point 2: one 16,500 px
page of big charts for 22 keywords, cut off on a phone, a y-axis of 1, 1.1, ... 2, repeated
rotated timestamps, the title twice in a monospace font). Asserted on what is drawn, not on
pixels; the screenshots go to the test's output folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.helpers import Cli, chromium_page, record_searches

KEYWORDS = [f"keyword {n:02d}" for n in range(22)]

DRAWN = """() => ({
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  rows: [...document.querySelectorAll('.scroll table')][0].querySelectorAll('tr').length - 1,
  sparks: [...document.querySelectorAll('td svg.spark')].map(s => ({
    lines: s.querySelectorAll('polyline').length, dots: s.querySelectorAll('circle').length,
    said: s.querySelector('title').textContent})),
  charts: [...document.querySelectorAll('.charts section')].map(s => {
    const box = s.getBoundingClientRect();
    const svg = s.querySelector('svg');
    return {top: Math.round(box.top), width: Math.round(box.width),
            svgWidth: Math.round(svg.getBoundingClientRect().width),
            titles: [...svg.querySelectorAll('text')].filter(
                t => t.textContent === s.querySelector('h3').textContent).length,
            y: [...svg.querySelectorAll('.axis.y text')].map(t => t.textContent),
            x: [...svg.querySelectorAll('.axis.x text')].map(t => t.textContent),
            font: getComputedStyle(svg.querySelector('.axis text')).fontFamily}}),
})"""


def _look(html: Path, width: int, shot: Path) -> dict[str, Any]:
    with chromium_page() as watched:
        page = watched.page
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        drawn: dict[str, Any] = page.evaluate(DRAWN)
        page.screenshot(path=str(shot), full_page=True)
    assert watched.console == [] and watched.requests == [html.as_uri()]
    return drawn


def test_the_report_is_compact_readable_and_fits_a_phone(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    searches = []
    for round_ in range(3):
        for n, keyword in enumerate(KEYWORDS):
            shop = None if (n + round_) % 5 == 0 else 1 + (n * 3 + round_ * 2) % 40
            searches.append((keyword, "DE", "desktop", {"shop.example": shop,
                                                         "blog.example": 1}))
    record_searches(tmp_path / "data", *searches)
    html = tmp_path / "report.html"
    assert cli("rank", "report", "-f", "html", "-o", str(html)).code == 0

    wide = _look(html, 1280, tmp_path / "report-1280.png")
    phone = _look(html, 390, tmp_path / "report-390.png")
    assert phone["width"] <= 390, "nothing wider than a phone: tables scroll in their box"
    assert wide["rows"] == len(KEYWORDS) * 2
    assert len(wide["sparks"]) == wide["rows"], "a sparkline on every row"
    assert all(s["dots"] == 1 for s in wide["sparks"])  # every row ranked at least once
    assert {s["said"] for s in wide["sparks"]} >= {"#1 → #1 → #1"}
    charts = wide["charts"]
    assert len(charts) == len(KEYWORDS)
    assert len({c["top"] for c in charts}) <= len(KEYWORDS) // 2, "two or more per row"
    assert wide["height"] < 16_500 / 2
    for chart in charts:
        assert chart["titles"] == 0, "the heading names the chart; no second title"
        assert chart["y"] and all(re.fullmatch(r"\d+", label) for label in chart["y"])
        assert chart["y"][0] == "1" or "1" in chart["y"]
        assert len(chart["x"]) == len(set(chart["x"])), "no repeated time labels"
        assert "monospace" not in chart["font"].lower()
    assert all(c["svgWidth"] <= 390 for c in phone["charts"]), "charts shrink on a phone"
