"""How much text from the web an event may hold. The event log is permanent and cannot be
pruned: a page with a 10 MB title checked every 30 minutes would add about 480 MB a day.
Text is cut to these limits (with a trailing ``…``) before it becomes an event."""

from __future__ import annotations

TITLE_CHARS = 1_000  # a page or result title (real ones are under 100)
URL_CHARS = 8_192  # a URL (browsers and servers commonly stop at 8 KB)
ERROR_CHARS = 1_000  # an error text naming what went wrong


def capped(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` characters and ``…`` when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def capped_or_none(text: str | None, limit: int) -> str | None:
    """``capped`` for optional text."""
    return None if text is None else capped(text, limit)
