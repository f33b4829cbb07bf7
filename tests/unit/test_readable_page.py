"""``readable``: what the first reading of a results page parses is the text evidence
keeps, so a re-read of the stored page sees exactly what the first reading saw, also where
removing the scripts leaves markup whose serialisation parses back differently."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from adapters.evidence import for_reading, readable

PAGES = [
    "<html><body><ol id='b_results'><li class='b_algo'><h2><a href='https://a.example/'>A"
    "</a></h2></li></ol></body></html>",
    "<html><head><script>var x = '<li class=\"b_algo\">';</script></head><body><p>one"
    "<script src='x.js'></script></p></body></html>",
    # misnested markup the parser mends (adoption agency, foster parenting), scripts in it
    "<p><b>bold<i>both<script>1</script></b>italic</i></p><table><script>2</script>"
    "<tr><td>cell</td></tr>text in a table</table>",
    "<a href='/1'>one<script>3</script><a href='/2'>two</a></a><SCRIPT>4</SCRIPT>",
    "<select><option>a<script>5</script><p>not here</select><noscript><p>n</p></noscript>",
]


@pytest.mark.parametrize("html", PAGES)
def test_the_first_reading_parses_the_text_that_is_kept(html: str) -> None:
    page = readable(html)
    assert page.html == for_reading(html)
    assert "<script" not in page.html.lower()
    assert page.tree.html == LexborHTMLParser(page.html).html
    assert [n.attributes.get("href") for n in page.tree.css("a")] == \
        [n.attributes.get("href") for n in LexborHTMLParser(page.html).css("a")]


def test_a_page_without_scripts_is_kept_as_served_and_parsed_once() -> None:
    page = readable(PAGES[0])
    assert page.html is PAGES[0]
