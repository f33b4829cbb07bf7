"""Rank reports: position charts (pygal SVG, PNG through cairosvg) and the self-contained
HTML report."""

from domain.keyword_names import search_label
from domain.ranking import summary_text

from ._charts import chart_png, chart_svg, series_of, zone_name
from ._html import html_report, latest_text
from ._sparkline import sparkline

__all__ = ["chart_png", "chart_svg", "html_report", "latest_text", "search_label", "series_of",
           "sparkline", "summary_text", "zone_name"]
