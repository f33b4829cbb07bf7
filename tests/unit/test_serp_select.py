"""``PageSelector`` answers every selector exactly as lexbor's ``tree.css`` does (the same
elements, in the same order) while skipping selectors that need an id the page lacks and
running id-anchored ones inside those elements only: checked for every selector of every
shipped engine definition on every saved results page, and on pages built to break the
shortcuts (duplicate and nested ids, ids differing in case, ids written as character
references, sibling combinators, ids inside :not/:is, SVG and template content)."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from adapters.serp._definition import EngineDefinition, read_definitions
from adapters.serp._select import PageSelector, plan
from scripts.fixtures.serp_site import _padding

PAGES = sorted((Path(__file__).parents[1] / "fixtures" / "serp").glob("*/*.html"))


def _selectors(d: EngineDefinition) -> set[str]:
    """Every selector a definition names."""
    found = {*d.exclude, *d.next_page, *d.blocked.css, *d.consent.css, *d.no_results.css}
    for markers in (d.blocked, d.consent, d.no_results):
        if markers.within:
            found.add(markers.within)
    for layout in d.layouts:
        found |= {s for s in (layout.items, layout.link, layout.title, layout.snippet) if s}
    if d.packs is not None:
        found |= {d.packs.within, d.packs.heading, d.packs.media, d.packs.snippet}
    for alternatives in d.features.values():
        found.update(alternatives)
    return found


SHIPPED = sorted({s for d, _path, _version in read_definitions()[0].values()
                  for s in _selectors(d)})


def _same(tree: LexborHTMLParser, selector: str) -> None:
    page = PageSelector(tree)
    expected = [n.mem_id for n in tree.css(selector)]
    assert [n.mem_id for n in page.css(selector)] == expected, selector
    assert page.exists(selector) == bool(expected), selector


@pytest.mark.parametrize("path", PAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_selector_answers_as_lexbor_on_every_saved_page(path: Path) -> None:
    html = path.read_text()
    for text in (html, html.replace("</body>", _padding(20_000, path.name) + "</body>")):
        tree = LexborHTMLParser(text)
        for selector in SHIPPED:
            _same(tree, selector)


HOSTILE = """<!doctype html><html><body>
<div id="b_results"><ol id="B_RESULTS"><li class="b_algo"><h2><a href="/1">one</a></h2></li>
  <li class="b_algo"><div id="b_results"><li class="b_algo"><a href="/2">two</a></li></div></li>
</ol></div>
<ol id="b_results"><li class="b_algo"><a href="/3">three</a></li></ol>
<p id="b&#95;captcha">an id written as a character reference</p>
<span id="side"></span><li class="b_algo"><a href="/4">after a sibling</a></li>
<div id="wrap"><p class="x"><b>in</b></p></div><p class="x"><b>out</b></p>
<svg><g id="vector"><rect class="r"/></g></svg>
<template id="tpl"><li class="b_algo">in a template</li></template>
<div id=""><i>empty id</i></div><div id="Mixed"><i class="m">case</i></div>
</body></html>"""
QUIRKS = HOSTILE.replace("<!doctype html>", "")
CASES = [
    "#b_results > li.b_algo", "#b_results li.b_algo a", "#b_results", "li.b_algo",
    "#B_RESULTS > li", "ol#b_results > li, div#b_results li", "#b_captcha", "#b_captcha, p",
    "#side + li.b_algo", "#side ~ li a", "#wrap .x b", "p:not(#wrap) b", "div:is(#wrap) b",
    "div:has(#vector) p", "#vector .r", "svg #vector rect", "#tpl li", "#tpl", "[id] i",
    "#mixed .m", "#Mixed .m", "#nothing p, li.b_algo a", "#nothing", "#b_results a, #wrap b",
    "#wrap > .x > b", "body > #wrap", "#b\\_results li", "a[href='#b_results']",
    "#b_results li.b_algo:first-child", "#b_results > li.b_algo:nth-child(2n+1) a",
]


@pytest.mark.parametrize("doc", [HOSTILE, QUIRKS], ids=["standards", "quirks"])
@pytest.mark.parametrize("selector", CASES)
def test_pages_built_to_break_the_shortcuts_get_lexbors_answer(doc: str, selector: str) -> None:
    _same(LexborHTMLParser(doc), selector)


def test_the_plan_anchors_only_where_every_match_is_inside_the_id() -> None:
    def anchors(selector: str) -> list[str | None] | None:
        complexes = plan(selector)
        return None if complexes is None else [c.anchor for c in complexes]

    assert anchors("#b_results > li.b_ad.b_adTop .sb_add") == ["b_results"]
    assert anchors("#Results ul > li, #results div.sa_cc") == ["results", "results"]
    assert anchors("li.b_algo") == [None]
    assert anchors("#side + li") == [None]  # a sibling of the id, not inside it
    assert anchors("#a > p ~ q") == [None]
    assert anchors("#a ~ p b") == [None]
    assert anchors("div:not(#z) p") == [None]  # an id inside :not is not required
    assert (plan("div:not(#z) p") or ())[0].ids == frozenset()
    assert (plan("#side + li") or ())[0].ids == {"side"}  # ...but needed to match at all
    for unread in ("#a\\:b", "svg|rect", "> a", "a >", "a > > b", "a[x=']", "a)", ""):
        assert plan(unread) is None, unread


class _CountingTree(LexborHTMLParser):
    """lexbor's parser, counting the walks asked of it."""

    walks = 0

    def css(self, query: str) -> list[LexborNode]:
        type(self).walks += 1
        return super().css(query)


def test_a_selector_asked_again_is_answered_without_another_walk() -> None:
    """(a block both excluded and counted as a feature is asked for twice)"""
    _CountingTree.walks = 0
    page = PageSelector(_CountingTree('<ul><li class="ad">a</li><li class="ad">b</li></ul>'))
    first = page.css(".ad")
    first.clear()  # a caller's list is its own
    again = page.css(".ad")
    assert [n.text() for n in again] == ["a", "b"]
    assert _CountingTree.walks == 1
