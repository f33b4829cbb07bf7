"""``bootstrap()``: the composition root. Every process that runs vipb's write side (the host,
the CLI in process, benchmarks, the demo, tests) builds it here, from settings, a store, a
clock and a browser, and adds to what it gets (the host its control socket, sealer and
followers); nothing patches a runtime after it is built.

What differs between stores is asked of the store (``StoreBackend.shared``, ``on_files``,
``leader_lock``, ``host_registry``), never read from its type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from actors.proxy_pool import MAX_LIVE_PROXY_ACTORS
from adapters.config import DataPaths, Settings
from adapters.secrets import MasterKey
from adapters.store import StoreBackend
from adapters.trust import require_own_data_dir
from projections import ALL_VIEWS, View
from service.rate_limit import RateLimiter
from service.runtime import (
    BrowserFactory,
    NotInitializedError,
    Runtime,
    backend_for,
    default_browser,
    master_key_for,
)


def bootstrap(
    root: Path,
    *,
    settings: Settings | None = None,
    store: StoreBackend | None = None,
    master: MasterKey | None = None,
    clock: Callable[[], float] = time.time,
    browser: BrowserFactory = default_browser,
    views: Sequence[View] | None = None,
    batch_size: int = 5000,
    rate_limiter: RateLimiter | None = None,
    max_proxy_actors: int = MAX_LIVE_PROXY_ACTORS,
    claim_as: str | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
) -> Runtime:
    """The runtime of an initialised data dir (``vipb init``; else ``NotInitializedError``).

    ``store``: the event store backend (default: the one the settings name, SQLite files in
    the data dir unless ``VIPB_DATABASE_URL``); ``master``: the master key (default: from its
    sources); ``clock``: the time schedules, leases and rotation go by; ``browser``: makes
    the browser engine on first use; ``views``: the read models kept (default: all);
    ``claim_as``: the name this process claims tasks under on a shared store (default: the
    host id); ``status``: what ``host:status`` replies (a host's own report; default: the
    runtime's)."""
    require_own_data_dir(root)
    settings = settings or Settings(data_dir=root)
    store = store or backend_for(root, settings)
    if not store.is_initialized():
        raise NotInitializedError(root)
    master = master or master_key_for(root, store)
    return Runtime(DataPaths(root), store, master, views or [v() for v in ALL_VIEWS],
                   batch_size, rate_limiter, settings, clock, max_proxy_actors, claim_as,
                   status, browser)
