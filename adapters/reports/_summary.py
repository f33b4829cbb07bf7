"""The movement summary in words, for the terminal and the HTML report alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.ranking import TOP_SHARES

_MOVES = (("improved", "up"), ("declined", "down"), ("unchanged", "unchanged"),
          ("entered", "entered"), ("lost", "lost"), ("new", "new"),
          ("not_ranked", "not ranked"))


def summary_text(summary: Mapping[str, Any]) -> str:
    """``12 keyword x domain pair(s): 3 up, 2 down, 5 unchanged, 1 entered, 1 lost;
    average position 7.4; top 3 25%, top 10 58%, top 100 83%`` (moves that did not happen
    are left out)."""
    moves = ", ".join(f"{summary[key]} {word}" for key, word in _MOVES if summary.get(key))
    average = summary.get("average_position")
    shares = ", ".join(f"top {n} {summary[f'top_{n}']:.0%}" for n in TOP_SHARES)
    return (f"{summary['pairs']} keyword x domain pair(s)"
            f"{': ' + moves if moves else ''}; average position "
            f"{average if average is not None else '-'}; {shares}")
