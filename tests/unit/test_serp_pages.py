"""The engine definitions against pages modelled on each engine's real markup.

``tests/fixtures/serp/<engine>/<layout>.html`` are result pages in the shapes engines really
serve (current, no-JavaScript, older layouts, phones, later pages, captcha, consent and "no
results" answers), with the organic results a person counts written by hand in
``expected.toml``. ``widgets.toml`` holds the blocks that are never results (ads, carousels,
image/video/news packs, "people also ask", local packs, the engine's own links): one test
each puts one at the top of a result list and the positions must not move.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from adapters.serp import Engines, SerpBlockedError, SerpError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "serp"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((FIXTURES / "expected.toml").read_text())
WIDGETS: dict[str, dict[str, Any]] = tomllib.loads((FIXTURES / "widgets.toml").read_text())
ENGINES = Engines()


def _pages() -> list[tuple[str, str]]:
    return [(engine, page) for engine, pages in EXPECTED.items() for page in pages]


def _widgets() -> list[tuple[str, str]]:
    return [(engine, name) for engine, blocks in WIDGETS.items() for name in blocks
            if name != "base"]


def test_every_fixture_page_has_an_expectation_and_every_engine_fixtures() -> None:
    on_disk = {(p.parent.name, p.stem) for p in FIXTURES.glob("*/*.html")}
    assert on_disk == set(_pages())
    assert set(EXPECTED) == set(ENGINES.names()) == set(WIDGETS)


@pytest.mark.parametrize(("engine", "page"), _pages())
def test_pages_read_as_a_person_reads_them(engine: str, page: str) -> None:
    want = EXPECTED[engine][page]
    html = (FIXTURES / engine / f"{page}.html").read_text()
    reader = ENGINES.get(engine)
    url = reader.url("espresso grinder", 0, None)
    outcome = want.get("outcome", "results")
    if outcome == "blocked":
        with pytest.raises(SerpBlockedError):
            reader.parse(html, url)
        return
    parsed = reader.parse(html, url)
    if outcome == "no_results":
        assert parsed.no_results and parsed.results == [] and not parsed.has_next
        return
    assert parsed.urls == want["results"]
    assert not parsed.no_results
    assert parsed.has_next == want["has_next"]
    assert parsed.features == want.get("features", {})
    assert list(parsed.notices) == want.get("notices", [])
    for result, title in zip(parsed.results, want.get("titles", []), strict=False):
        assert result.title == title


@pytest.mark.parametrize(("engine", "widget"), _widgets())
def test_a_widget_is_never_a_result(engine: str, widget: str) -> None:
    base, block = WIDGETS[engine]["base"], WIDGETS[engine][widget]
    html = base["html"].format(widget=block.get("html", ""), top=block.get("top", ""),
                               side=block.get("side", ""))
    reader = ENGINES.get(engine)
    parsed = reader.parse(html, reader.url("x", 0, None))
    assert parsed.urls == base["results"]
    if "feature" in block:
        assert parsed.features.get(block["feature"], 0) >= 1, parsed.features
    # and the block alone, without the results around it, is not a results page at all
    alone = "\n".join(line for line in html.splitlines()
                       if ">One<" not in line and ">Two<" not in line)
    with pytest.raises(SerpError):
        reader.parse(alone, reader.url("x", 0, None))


@pytest.mark.parametrize("engine", sorted(EXPECTED))
def test_a_page_that_is_nothing_of_the_kind_is_a_failed_search(engine: str) -> None:
    reader = ENGINES.get(engine)
    with pytest.raises(SerpError) as caught:
        reader.parse("<html><body><p>Something else entirely</p></body></html>",
                     reader.url("x", 0, None))
    assert not isinstance(caught.value, SerpBlockedError)
