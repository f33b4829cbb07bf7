"""What of a results page is read and kept, and how a kept page is shown again.

``for_reading``: the page without its ``<script>`` elements. Nothing the readers look for
lives in scripts (they can hold megabytes of code, and a phrase quoted in code is not the
page saying it), so this is both what an engine definition reads and what is stored: a
re-read of a stored page sees exactly what the first reading saw.

``for_viewing``: a stored page made safe to open in a browser, with a banner saying what it
is. It must not run anything or fetch anything (a page from the open web, shown on the
user's machine): no scripts, event handlers, ``javascript:`` links, frames, plugins, base,
link or refresh elements, no address the browser would fetch by itself (images, media,
form targets: inline images stay), and a Content-Security-Policy that allows nothing but
inline styles and inline images (what CSS could still ask for). Links a person follows
stay: they show where each result led.
"""

from __future__ import annotations

import html as html_text
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

_UNSAFE = ("script", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet",
           "base", "link", "meta[http-equiv]", "portal", "template")
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "xlink:href", "srcset",
                   "poster", "background", "ping")
# what a browser fetches by itself (not links a person follows): gone unless inline data
_FETCHED = ("src", "srcset", "poster", "data", "background", "xlink:href", "ping",
            "action", "formaction")
_SCRIPT_URL = re.compile(r"^\s*(javascript|vbscript|data:text/html)", re.I)
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class ReadablePage:
    """A page as readers see it and evidence keeps it (``html``, without ``<script>``
    elements), and ``tree``: that very text parsed, for the first reader (a re-read of the
    stored page parses the same text, so it sees what the first reading saw)."""

    html: str
    tree: LexborHTMLParser


def readable(html: str) -> ReadablePage:
    """``html`` without its scripts, parsed: one parse when it has none (the common case
    of pages served to clients without scripts), else the text without them parsed anew
    (never the edited tree: a serialisation does not always parse back to the same tree,
    and the stored text is what a re-read sees)."""
    text, tree = _without_scripts(html)
    return ReadablePage(text, tree if tree is not None else LexborHTMLParser(text))


def for_reading(html: str) -> str:
    """The page as readers see it and evidence keeps it: without ``<script>`` elements."""
    return _without_scripts(html)[0]


def _without_scripts(html: str) -> tuple[str, LexborHTMLParser | None]:
    """The text without ``<script>`` elements, and its parse when that is ``html``'s."""
    tree = LexborHTMLParser(html)
    scripts = tree.css("script")
    if not scripts:
        return html, tree
    for script in scripts:
        script.decompose()
    return tree.html or "", None


def for_viewing(html: str, banner: list[tuple[str, str]]) -> str:
    """A stored page that runs and fetches nothing, with ``banner`` (label, value rows) on
    top of it."""
    tree = LexborHTMLParser(html)
    for selector in _UNSAFE:
        for node in tree.css(selector):
            node.decompose()
    for node in tree.css("*"):
        attributes = node.attributes
        for name in list(attributes):
            lower = name.lower()
            value = attributes.get(name) or ""
            if lower.startswith("on") or (lower in _URL_ATTRIBUTES and _SCRIPT_URL.match(value)):
                del node.attrs[name]
            elif lower in _FETCHED and not value.strip().lower().startswith("data:image/"):
                del node.attrs[name]  # (the policy blocks it too; a viewer without CSP not)
            elif lower == "href" and node.tag in ("image", "use", "feimage"):
                del node.attrs[name]  # SVG's fetched href
    _prepend(tree, "head", f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
             '<meta name="referrer" content="no-referrer">')
    rows = "".join(f"<tr><th style=\"text-align:left;padding-right:1em\">"
                   f"{html_text.escape(label)}</th><td>{html_text.escape(value)}</td></tr>"
                   for label, value in banner)
    _prepend(tree, "body",
             '<div id="vipb-evidence" style="all:initial;display:block;font:14px/1.4 '
             'system-ui,sans-serif;background:#fff8c4;color:#222;border-bottom:2px solid '
             '#c9b300;padding:10px 14px;position:relative;z-index:2147483647">'
             '<strong style="font-size:15px">vipb evidence: a results page as it was read'
             '</strong> (scripts removed; nothing on it loads or runs)'
             f'<table style="margin-top:6px;font-size:13px">{rows}</table></div>')
    return tree.html or ""


def _prepend(tree: LexborHTMLParser, where: str, markup: str) -> None:
    """Put ``markup`` first in the document's ``head`` or ``body`` (the parser makes both;
    first in the head, a policy applies before anything in it loads)."""
    parent = tree.head if where == "head" else tree.body
    if parent is None:
        return
    wrapper = LexborHTMLParser(f"<html><{where}>{markup}</{where}></html>")
    nodes = list((wrapper.head if where == "head" else wrapper.body).iter())  # type: ignore[union-attr]
    first = parent.child
    for node in nodes:
        if first is not None:
            first.insert_before(node)
        else:
            parent.insert_child(node)
