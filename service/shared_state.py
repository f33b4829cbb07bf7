"""What other hosts sharing the store record about proxies reaches this host.

Each host keeps its pool, breakers and rotation strategy in memory (the hot path of every
pick). On a shared store a follower reads the events of those kinds committed since its last
look, every ``FOLLOW_INTERVAL`` seconds, by topic (an index range on the notification id):
a proxy added, changed or removed elsewhere, a breaker opened or closed elsewhere, a strategy
set elsewhere, a latency a health check measured elsewhere. A proxy whose breaker another
host opened is therefore not handed out here once the follower has passed that commit:
within ``FOLLOW_INTERVAL`` plus one query.
Its own host's events come back too and change nothing (each step compares versions or
states first).
"""

from __future__ import annotations

import logging
import threading
from uuid import UUID

import pykka

from actors.proxy_pool import ProxyPoolActor
from actors.rotation_actor import RotationActor
from adapters.store import EventLog
from domain.breaker_record import CircuitBreakerRecord
from domain.events import events_of
from domain.health_journal import HealthJournal
from domain.ids import as_uuid
from domain.proxy import Proxy
from domain.rotation_config import RotationConfig
from projections.view import event_name

log = logging.getLogger(__name__)

FOLLOW_INTERVAL = 0.5  # seconds between looks at what other hosts recorded

_PROXY = events_of(Proxy, "ProxyAdded", "ProxyUpdated", "ProxyRemoved")
_BREAKER = events_of(CircuitBreakerRecord, "CircuitOpened", "CircuitHalfOpened",
                     "CircuitClosed")
_CONFIG = events_of(RotationConfig, "RotationConfigCreated", "RotationStrategySet")
_MEASURED = events_of(HealthJournal, "ProxyValidated")  # latency (`fastest`), exit country
EVENTS = (*_PROXY, *_BREAKER, *_CONFIG, *_MEASURED)
_PROXY_NAMES, _BREAKER_NAMES, _CONFIG_NAMES, _MEASURED_NAMES = (
    frozenset(c.__name__ for c in classes) for classes in (_PROXY, _BREAKER, _CONFIG, _MEASURED))


class SharedStateFollower:
    """Applies other hosts' proxy, breaker and strategy changes to this host's actors."""

    def __init__(self, log: EventLog, pool: pykka.ActorProxy[ProxyPoolActor],
                 rotation: pykka.ActorProxy[RotationActor], start: int) -> None:
        """Follow from notification ``start`` (read before the actors loaded their state:
        what came after is applied again, which changes nothing)."""
        self._log = log
        self._events = log.follow(EVENTS, start)
        self._pool = pool
        self._rotation = rotation
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vipb-shared-state",
                                        daemon=True)

    def start(self) -> None:
        """Follow in the background."""
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(FOLLOW_INTERVAL):
            try:
                self.catch_up()
            except pykka.ActorDeadError:
                return  # the runtime is closing
            except Exception:
                log.exception("following other hosts' proxy changes failed; will retry")

    def catch_up(self) -> int:
        """Apply everything recorded since the last look; the position reached."""
        head = self._log.head()
        while notes := self._events.take(1000):
            proxies: dict[UUID, int] = {}
            breakers: set[str] = set()
            latencies: dict[str, float] = {}
            exits: dict[str, str] = {}
            config = False
            for note in notes:
                name = event_name(note.topic)
                if name in _PROXY_NAMES:
                    oid = as_uuid(note.originator_id)
                    proxies[oid] = max(proxies.get(oid, 0), note.originator_version)
                elif name in _BREAKER_NAMES:
                    target = str(self._log.decode(note).get("target", ""))
                    if target.startswith("proxy:"):
                        breakers.add(target.removeprefix("proxy:"))
                elif name in _MEASURED_NAMES:
                    state = self._log.decode(note)
                    if state.get("latency_ms") is not None:
                        latencies[str(state["proxy_id"])] = float(state["latency_ms"])
                    if state.get("exit_country"):
                        exits[str(state["proxy_id"])] = str(state["exit_country"])
                elif name in _CONFIG_NAMES:
                    config = True
            for proxy_id, version in proxies.items():
                self._pool.recorded(proxy_id, version).get()
            for target in breakers:
                self._rotation.breaker_recorded(target).get()
            if latencies:
                self._rotation.latencies_measured(latencies).get()
            if exits:  # where other hosts' validations saw proxies leave from
                self._rotation.exits(exits).get()
            if config:
                self._rotation.config_recorded().get()
        self._events.advance(head)  # nothing of these kinds up to the head read first
        return self.position

    @property
    def position(self) -> int:
        """The last notification applied (or known to be of no concern)."""
        return self._events.position

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the follower has applied everything up to ``position``."""
        return self._events.wait_for(position, timeout)

    def close(self) -> None:
        """Stop following."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
