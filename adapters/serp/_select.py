"""CSS selectors over one results page, without a walk of the whole page for every one.

Reading a page runs some 40 selectors of its engine definition (captcha and consent markers,
blocks to exclude, the result list, SERP features, the next-page link), and lexbor checks
every element against each: on a 200 KiB page of 3,000 elements that was most of a search's
CPU. Most of those selectors name an id (``#b_results > li.b_algo``, ``#b_captcha``), and an
id answers two questions from one walk that lists the page's elements with an id:

* a selector that needs an element with id ``x`` matches nothing on a page without one, and
  is not run (a captcha marker on a results page, a knowledge panel on most);
* a selector whose subject lies inside (or is) an element with id ``x``, every combinator
  between the two being descendant or child, matches only inside those elements, and runs
  there: lexbor checks a match's ancestors up to the document root, so a selector run from
  an element answers exactly what it answers from the root, for that element's subtree.

Anything the planner does not read with certainty (escapes, namespaces, a selector list
whose parts would be merged out of document order) runs as written, so every answer is
lexbor's own. Ids are compared case-insensitively (as in quirks mode): that can only add an
element to look in, never leave one out."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser
from selectolax.lexbor import LexborNode as Node

_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_COMBINATORS = frozenset(">+~")
_OPEN = {"(": ")", "[": "]"}


@dataclass(frozen=True)
class Complex:
    """One selector of a list: its text, the ids (lowercase) an element of the page must
    carry for it to match anything, and ``anchor``: an id whose elements hold (or are)
    every element it matches, when there is one."""

    text: str
    ids: frozenset[str]
    anchor: str | None


@functools.lru_cache(maxsize=4096)
def plan(selector: str) -> tuple[Complex, ...] | None:
    """``selector`` read as a list of complex selectors, or None when it is to run as
    written (a backslash escape, a namespace or column combinator, unbalanced brackets)."""
    if "\\" in selector or "|" in selector:
        return None
    parts: list[str] = []
    depth: list[str] = []
    quote = ""
    start = 0
    for i, char in enumerate(selector):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in _OPEN:
            depth.append(_OPEN[char])
        elif depth and char == depth[-1]:
            depth.pop()
        elif char in ")]":
            return None
        elif char == "," and not depth:
            parts.append(selector[start:i])
            start = i + 1
    if quote or depth:
        return None
    parts.append(selector[start:])
    complexes = [_complex(part.strip()) for part in parts]
    if any(c is None for c in complexes):
        return None
    return tuple(c for c in complexes if c is not None)


def _complex(text: str) -> Complex | None:
    """One complex selector: its compounds' top-level ids, and the anchor (see ``plan``)."""
    compounds: list[set[str]] = [set()]  # the ids of each compound, left to right
    combinators: list[str] = []  # between compounds: " ", ">", "+" or "~"
    started = False  # the current compound has begun
    pending = ""  # the combinator since it ended: "" none, " " a gap, or the one written
    depth: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        i += 1
        if quote:
            quote = "" if char == quote else quote
            continue
        if depth:
            if char in "\"'":
                quote = char
            elif char in _OPEN:
                depth.append(_OPEN[char])
            elif char == depth[-1]:
                depth.pop()
            continue
        if char.isspace():
            pending = pending or " "
            continue
        if char in _COMBINATORS:
            if pending.strip() or not started:
                return None  # two combinators in a row, or one first: not read here
            pending = char
            continue
        if pending:
            combinators.append(pending.strip() or " ")
            compounds.append(set())
            pending = ""
        started = True
        if char in "\"'":
            quote = char
        elif char in _OPEN:
            depth.append(_OPEN[char])
        elif char == "#":
            end = i
            while end < len(text) and (text[end] in _NAME or ord(text[end]) > 127):
                end += 1
            if end == i:
                return None
            compounds[-1].add(text[i:end].lower())
            i = end
    if not started or pending.strip() or depth or quote:
        return None
    anchor = None
    for k in range(len(compounds) - 1, -1, -1):  # from the subject leftwards
        if compounds[k]:
            anchor = min(compounds[k])
            break
        if k and combinators[k - 1] not in (" ", ">"):
            break  # a sibling: the ids further left are not the subject's ancestors'
    return Complex(text, frozenset().union(*compounds), anchor)


class PageSelector:
    """Runs selectors over one parsed page (see the module docstring)."""

    def __init__(self, tree: LexborHTMLParser) -> None:
        self._tree = tree
        self._ids: dict[str, list[Node]] | None = None
        # answers by selector: definitions ask some twice (a block both excluded and counted
        # as a feature), and the page does not change while it is read
        self._found: dict[str, list[Node]] = {}

    def _with_id(self, name: str) -> list[Node]:
        """The page's elements whose id is ``name`` (lowercase), in document order."""
        if self._ids is None:
            ids: dict[str, list[Node]] = {}
            for node in self._tree.css("[id]"):
                ids.setdefault((node.id or "").lower(), []).append(node)
            self._ids = ids
        return self._ids.get(name, [])

    def css(self, selector: str) -> list[Node]:
        """What ``tree.css(selector)`` answers, in the same (document) order."""
        found = self._found.get(selector)
        if found is None:
            found = self._found[selector] = self._css(selector)
        return list(found)

    def _css(self, selector: str) -> list[Node]:
        complexes = plan(selector)
        if complexes is None:
            return self._tree.css(selector)
        live = [c for c in complexes if self._possible(c)]
        if not live:
            return []
        if len(live) == 1 and live[0].anchor is not None:
            return self._inside(live[0])
        if len(live) == len(complexes):
            return self._tree.css(selector)
        return self._tree.css(", ".join(c.text for c in live))

    def exists(self, selector: str) -> bool:
        """Whether ``selector`` matches anything on the page."""
        complexes = plan(selector)
        if complexes is None:
            return self._tree.css_first(selector) is not None
        for c in complexes:
            if not self._possible(c):
                continue
            if c.anchor is not None:
                if any(a.css_first(c.text) is not None for a in self._with_id(c.anchor)):
                    return True
            elif self._tree.css_first(c.text) is not None:
                return True
        return False

    def _possible(self, c: Complex) -> bool:
        """Whether the page has an element with each id ``c`` needs (else it matches
        nothing)."""
        return all(self._with_id(name) for name in c.ids)

    def _inside(self, c: Complex) -> list[Node]:
        """``c``'s matches, looked for inside its anchor's elements only (each once: an
        anchor inside another gives nothing new)."""
        assert c.anchor is not None
        anchors = self._with_id(c.anchor)
        if len(anchors) == 1:
            return anchors[0].css(c.text)
        seen: set[int] = set()
        found = []
        for anchor in anchors:
            for node in anchor.css(c.text):
                if node.mem_id not in seen:
                    seen.add(node.mem_id)
                    found.append(node)
        return found
