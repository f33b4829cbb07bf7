"""How a tracked keyword's words compare and how a search is named to people.

Kept apart from ``domain.rank`` (its aggregates take ~0.1 s to import): reports, alerts and
the CLI name searches without loading them.
"""

from __future__ import annotations


def fold_keyword(keyword: str) -> str:
    """Keyword words compared without case or extra spaces."""
    return " ".join(keyword.casefold().split())


def search_label(keyword: str, engine: str, country: str | None, device: str | None,
                 quote: bool = False, location: str | None = None,
                 language: str | None = None) -> str:
    """``keyword on engine [country] [near location] [in language] [(mobile)]``;
    ``quote``: the keyword in quotes (in a sentence)."""
    words = repr(keyword) if quote else keyword
    return (f"{words} on {engine}{' ' + country if country else ''}"
            f"{' near ' + location if location else ''}"
            f"{' in ' + language if language else ''}"
            f"{' (mobile)' if device == 'mobile' else ''}")
