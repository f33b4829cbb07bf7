"""How a search is named to people: ``coffee on bing DE (mobile)``."""

from __future__ import annotations


def search_label(keyword: str, engine: str, country: str | None, device: str | None,
                 quote: bool = False) -> str:
    """``keyword on engine [country] [(mobile)]``; ``quote``: the keyword in quotes (in a
    sentence)."""
    words = repr(keyword) if quote else keyword
    return (f"{words} on {engine}{' ' + country if country else ''}"
            f"{' (mobile)' if device == 'mobile' else ''}")
