"""The movement summary in words (``domain.ranking.summary_text``), for the terminal and
the HTML report alike."""

from domain.ranking import summary_text

__all__ = ["summary_text"]
