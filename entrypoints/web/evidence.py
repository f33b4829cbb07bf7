"""A search's kept results page for the dashboard: read from the evidence store of the data
dir, made safe to open (scripts and anything that would load removed) with the banner
``vipb rank evidence`` adds."""

from __future__ import annotations

from contextlib import closing

from adapters.config import Settings
from adapters.evidence import for_viewing
from adapters.store import StoreBackend
from projections import rank_queries
from service.handlers.rank import evidence_banner


def kept_page(store: StoreBackend, settings: Settings, task_id: str) -> str | None:
    """The first kept page of search ``task_id``, ready to show; None when none is kept."""
    with closing(store.connect_read_only()) as conn:
        [task] = rank_queries.outcomes(conn, [task_id])
    pages = task.get("evidence") or []
    if task["state"] == "unknown" or not pages:
        return None
    with closing(store.open_evidence(settings.evidence_retention())) as kept:
        stored = kept.get(pages[0])
    if stored is None or stored.html is None:
        return None
    return for_viewing(stored.html, evidence_banner(task, 1, stored))
