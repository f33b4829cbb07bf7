"""The results of a search, page after page: what a search worker gathers as it reads and
what a re-read of the stored pages gathers again, by the same rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.serp._page import SerpPage, SerpResult


@dataclass
class Gathered:
    """Organic results over a search's pages, in order, each URL once; the first page's
    SERP features, layout and "no results"; what any page showed besides results."""

    depth: int
    results: list[SerpResult] = field(default_factory=list)
    pages: int = 0
    features: dict[str, int] = field(default_factory=dict)
    layout: str = ""
    said_none: bool = False
    notices: set[str] = field(default_factory=set)
    _seen: set[str] = field(default_factory=set)

    def add(self, page: SerpPage) -> bool:
        """Take a page; whether the next page should be read (the engine has one, this
        one added results, and ``depth`` results are not read yet)."""
        if self.pages == 0:
            self.features, self.layout, self.said_none = (page.features, page.layout,
                                                          page.no_results)
        self.notices.update(page.notices)
        self.pages += 1
        fresh = [r for r in page.results if r.url not in self._seen]
        self._seen.update(r.url for r in fresh)
        self.results.extend(fresh)
        return page.has_next and bool(fresh) and len(self.results) < self.depth

    @property
    def read(self) -> list[SerpResult]:
        """The results up to ``depth``."""
        return self.results[:self.depth]

    @property
    def no_results(self) -> bool:
        """The engine said there are none, and no page listed any."""
        return self.said_none and not self.results
