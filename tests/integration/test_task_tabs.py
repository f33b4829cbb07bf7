"""Tabs a task opened (a search attempt, a creator check) and a crash left open on record are
closed on record at the next start, never reopened: their tasks resume with tabs of their
own. Someone's own tab is still reopened. Tabs recorded before purposes existed are known
by the labels tasks gave them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pykka
import pytest

from domain.tab import Tab
from service.bootstrap import bootstrap


def _open(rt_writer: object, label: str | None, purpose: str | None = None) -> uuid.UUID:
    tab = Tab(id=uuid.uuid4(), profile_id=str(uuid.uuid4()), proxy_id=None, label=label,
              proxy_reason="direct", purpose=purpose)
    tab.navigated(url="http://127.0.0.1:9/search?q=x", status=200, title="t", latency_ms=1.0,
                  proxy_id=None, action="goto")
    rt_writer.save(tab)  # type: ignore[attr-defined]
    return tab.id


@pytest.mark.parametrize(("label", "purpose"), [
    ("rank 0123abcd", "search"),
    ("creator jane", "creator check"),
    ("rank 0123abcd re-check", None),  # before purposes were recorded: by the label
    ("creator jane", None),
])
def test_a_tasks_tab_left_open_is_closed_at_start_and_never_reopened(
        data_dir: Path, label: str, purpose: str | None) -> None:
    rt = bootstrap(data_dir)
    try:
        tab_id = _open(rt.writer, label, purpose)
    finally:
        rt.close(keep_tabs=True)  # as a crash leaves it: open on record
        pykka.ActorRegistry.stop_all()
    rt = bootstrap(data_dir)
    try:
        assert rt.resume_tabs() == []
        assert rt._tabs_ref is None, "no browser started for it"
        tab = rt.writer.load(Tab, tab_id)
        assert tab is not None and tab.closed
        rt.settle()
        with rt.reader() as conn:
            state = conn.execute("SELECT state FROM tabs WHERE id = ?", (str(tab_id),)).fetchone()
        assert state is not None and state[0] == "closed"
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_someones_own_tab_is_not_taken_for_a_tasks(data_dir: Path) -> None:
    rt = bootstrap(data_dir)
    try:
        for label in (None, "rank tracking notes", "creator", "my tab"):
            tab = rt.writer.load(Tab, _open(rt.writer, label))
            assert tab is not None and tab.task_purpose is None, label
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
