"""Position-over-time charts with pygal (a well-kept SVG charting library): one line per
target domain, position 1 at the top, a gap where a search did not rank the domain.

pygal writes a small configuration ``<script>`` into every SVG even with no scripts asked
for; it is removed, so the SVG (and the HTML report holding it) runs no script at all and a
strict Content-Security-Policy reports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any

from ._axes import position_ticks, time_ticks

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


@cache
def _style() -> Any:
    """The charts' look (pygal is loaded by the first chart: every CLI command imports this
    module, few draw)."""
    from pygal.style import Style

    return Style(background="white", plot_background="white", foreground="#333",
                 foreground_strong="#111", foreground_subtle="#e5e5e5", font_family=FONT,
                 label_font_size=12, major_label_font_size=12, legend_font_size=13,
                 title_font_size=15, tooltip_font_size=12,
                 colors=("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"))

Series = Mapping[str, Sequence[tuple[datetime, int | None]]]


def series_of(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[datetime, int | None]]]:
    """Report rows (one search context) as ``domain -> [(time, position)]``."""
    return {row["domain"]: [(datetime.fromisoformat(p["at"]), p["position"])
                            for p in row["series"]] for row in rows}


def _chart(title: str | None, series: Series, zone: tzinfo = UTC, width: int = 800,
           height: int = 400) -> Any:
    deepest = max((p for points in series.values() for _, p in points if p is not None),
                  default=10)
    y_ticks = position_ticks(deepest)
    bottom = max(deepest, y_ticks[-1])
    times = [at for points in series.values() for at, _ in points]
    x_ticks, fmt = time_ticks(min(times), max(times), zone) if times else ([], "%b %d")
    import pygal

    chart = pygal.DateTimeLine(
        title=title, style=_style(), js=[], disable_xml_declaration=True, inverse_y_axis=True,
        range=(1, bottom), y_labels=y_ticks, show_minor_y_labels=True,
        x_labels=x_ticks, x_label_rotation=0, show_dots=True, dots_size=4,
        allow_interruptions=True, truncate_legend=40, legend_at_bottom=True,
        stroke_style={"width": 2.5},
        legend_at_bottom_columns=2, width=width, height=height, margin=12,
        x_value_formatter=lambda d: _local(d, zone, fmt),
        x_title=f"time ({zone_name(zone)})", y_title="position")
    for domain, points in series.items():
        chart.add(domain, [(at, position) for at, position in points])
    return chart


def _local(moment: datetime, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A tick's time (pygal hands them over as naive UTC) on the clock of ``zone``."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime(fmt)


def zone_name(zone: tzinfo) -> str:
    """What a reader knows the zone by: its IANA name (``Europe/Berlin``), else its
    abbreviation now."""
    key = getattr(zone, "key", None)
    if key and key != "localtime":  # /etc/localtime read as a file has no name
        return str(key)
    return datetime.now(zone).tzname() or "UTC"


def chart_svg(title: str | None, series: Series, zone: tzinfo = UTC, width: int = 800,
              height: int = 400) -> str:
    """The chart as an SVG document without any script; times on the clock of ``zone``
    (``title`` None: none drawn, where a heading already names the chart)."""
    return _SCRIPT.sub("", _chart(title, series, zone, width, height).render(is_unicode=True))


def chart_png(title: str, series: Series, zone: tzinfo = UTC) -> bytes:
    """The chart as PNG (cairosvg, which needs the cairo library: Debian's libcairo2)."""
    import cairosvg  # only PNG needs it, and with it the system's cairo

    png: bytes = cairosvg.svg2png(bytestring=chart_svg(title, series, zone).encode(),
                                  output_width=800, output_height=400)
    return png
