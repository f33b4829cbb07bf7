"""A keyword row's positions as a sparkline: a few hundred bytes of inline SVG (no script,
no style sheet), position 1 at the top, a gap where a search did not rank the domain.

pygal can draw sparklines too, but each carries its own style sheet and ids; a report with a
row per keyword x domain wants the bare line, drawn the same way in the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH, HEIGHT, PAD = 96, 24, 3


def sparkline(points: Sequence[tuple[datetime, int | None]], deepest: int | None = None) -> str:
    """``<svg class="spark">`` with one ``<polyline>`` per run of ranked searches and a dot
    at the latest ranked one; ``deepest``: the position at the bottom (default: the
    deepest drawn, at least 10)."""
    ranked = [p for _, p in points if p is not None]
    bottom = max(deepest or 0, *ranked, 10) if ranked else 10
    first = points[0][0] if points else datetime.min
    span = (points[-1][0] - first).total_seconds() if points else 0.0

    def xy(at: datetime, position: int) -> str:
        x = PAD + ((at - first).total_seconds() / span if span else 1.0) * (WIDTH - 2 * PAD)
        y = PAD + (position - 1) / (bottom - 1) * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    runs: list[list[str]] = [[]]
    for at, position in points:
        if position is None:
            runs.append([])
        else:
            runs[-1].append(xy(at, position))
    lines = "".join(f'<polyline points="{" ".join(run)}"/>' for run in runs if len(run) > 1)
    dot = ""
    latest = next(((at, p) for at, p in reversed(points) if p is not None), None)
    if latest is not None:
        x, y = xy(*latest).split(",")
        dot = f'<circle cx="{x}" cy="{y}" r="2"/>'
    said = " → ".join("not ranked" if p is None else f"#{p}" for _, p in points[-8:])
    return (f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} '
            f'{HEIGHT}" role="img"><title>{escape(said)}</title><g fill="none" '
            f'stroke="currentColor" stroke-width="1.5">{lines}</g><g fill="currentColor">'
            f"{dot}</g></svg>")
