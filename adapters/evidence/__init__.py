"""Evidence: every results page a search read, kept compressed and content-addressed, so a
recorded position can be shown (``vipb rank evidence``) and re-read (``vipb rank reparse``)."""

from adapters.evidence._page import ReadablePage, for_reading, for_viewing, readable
from adapters.evidence._store import EvidenceStore, Retention, StoredPage

__all__ = ["EvidenceStore", "ReadablePage", "Retention", "StoredPage", "for_reading",
           "for_viewing", "readable"]
