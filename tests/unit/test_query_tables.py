"""`vipb query` serves every read table the README names, and every table the views keep
(issue 32, point 4: `alerts`, `alert_rules` and `creator_checks` were "unknown table")."""

from __future__ import annotations

import re
from pathlib import Path

from projections import ALL_VIEWS
from projections.queries import READ_TABLES

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_tables() -> set[str]:
    row = next(line for line in README.read_text().splitlines()
               if line.startswith("| `views.sqlite` |"))
    return set(re.findall(r"`([a-z_]+)`", row.split("|")[2]))


def test_every_table_the_readme_names_can_be_queried() -> None:
    named = _readme_tables()
    assert {"proxies", "alerts", "alert_rules", "creator_checks"} <= named, named
    assert sorted(named - set(READ_TABLES)) == []


def test_every_table_a_view_keeps_can_be_queried_and_is_in_the_readme() -> None:
    kept = {table for view in ALL_VIEWS for table in view().tables}
    assert sorted(kept - set(READ_TABLES)) == []
    assert sorted(kept - _readme_tables()) == []
