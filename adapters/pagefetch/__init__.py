"""Results pages over HTTP as the profile's own Chrome asks for them (the HTTP tier): curl
with Chrome's TLS and HTTP/2 fingerprint, the profile's headers, a warm session per profile
and proxy."""

from ._chrome import impersonation, navigation_headers
from ._fetcher import (
    MAX_PAGE_BYTES,
    MAX_REDIRECTS,
    SESSION_IDLE,
    SESSION_SEARCHES,
    FetchedPage,
    FetchError,
    FetchStoppedError,
    PageFetcher,
    warm,
)
from ._stop import Stop

__all__ = ["MAX_PAGE_BYTES", "MAX_REDIRECTS", "SESSION_IDLE", "SESSION_SEARCHES", "FetchError",
           "FetchStoppedError", "FetchedPage", "PageFetcher", "Stop", "impersonation",
           "navigation_headers", "warm"]
