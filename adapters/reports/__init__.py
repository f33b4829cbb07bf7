"""Rank reports: position charts (pygal SVG, PNG through cairosvg) and the self-contained
HTML report."""

from ._charts import chart_png, chart_svg, series_of
from ._html import html_report

__all__ = ["chart_png", "chart_svg", "html_report", "series_of"]
