"""An attempt's pages on their way into the evidence store.

A search reads a page while the page is hashed, compressed and written on the store's
writer thread (``EvidenceStore.put_later``), and its outcome is stored once they are written
(``ClaimHolder.queue_after``): its worker goes on to the next search meanwhile. No outcome
is on record before the pages it names, and a page that could not be kept does not cost the
search its answer: the answer says ``evidence_lost`` instead, and the log says why.
"""

from __future__ import annotations

import concurrent.futures
import logging
from uuid import UUID

from adapters.evidence import EvidenceStore

log = logging.getLogger(__name__)

LOST = "evidence_lost"  # the notice of an answer recorded without one of its pages


class PagesKept:
    """The pages one attempt is keeping (none without a store)."""

    def __init__(self, store: EvidenceStore | None, task_id: UUID) -> None:
        self._store = store
        self._task_id = task_id
        self._writes: list[concurrent.futures.Future[str]] = []
        self._waited = 0  # writes waited for (in order)
        self._kept: list[str] = []
        self._lost = False

    def keep(self, html: str, url: str) -> None:
        """Start keeping a page read at ``url``."""
        if self._store is None:
            return
        try:
            write = self._store.put_later(html, url)
        except Exception as exc:  # a closed store: recorded as lost, as a failed write
            write = concurrent.futures.Future()
            write.set_exception(exc)
        self._writes.append(write)

    @property
    def writes(self) -> tuple[concurrent.futures.Future[str], ...]:
        """The writes under way (for ``queue_after``)."""
        return tuple(self._writes)

    def hashes(self) -> list[str]:
        """The hashes of the pages kept, once written (waits)."""
        self._wait()
        return list(self._kept)

    @property
    def lost(self) -> bool:
        """A page could not be kept (waits)."""
        self._wait()
        return self._lost

    def _wait(self) -> None:
        while self._waited < len(self._writes):
            write = self._writes[self._waited]
            self._waited += 1
            try:
                self._kept.append(write.result())
            except Exception:
                log.exception("search task %s: a results page could not be kept as evidence",
                              self._task_id)
                self._lost = True
