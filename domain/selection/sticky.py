"""Sticky sessions: a domain keeps its proxy until ``ttl`` after its last use.

New bindings come from a consistent-hash ring (8 virtual nodes per proxy), so adding or
removing a proxy moves only the domains next to it on the ring. ``*.example.com`` patterns
make every subdomain share one binding. When the bound proxy is gone or unavailable, the
next proxy clockwise on the ring takes over.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from domain.selection.context import SelectionContext
from domain.selection.pool import Candidate, CandidatePool, Change, NoProxyAvailableError
from domain.selection.strategy import Strategy

VNODES = 8


def ring_hash(text: str) -> int:
    """A stable 64-bit hash (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass
class Binding:
    """A session key's proxy and when it was last used (seconds)."""

    proxy_id: str
    last_used: float


@dataclass(frozen=True)
class StickyRecord:
    """One recorded step of a binding: a sticky pick for ``domain`` at ``at`` (seconds),
    or the expiry of the binding ``key``."""

    proxy_id: str
    domain: str | None = None
    key: str | None = None
    at: float = 0.0


class StickySession(Strategy):
    """Same domain, same proxy, until the binding expires."""

    name: ClassVar[str] = "sticky_session"

    def __init__(self, pool: CandidatePool, rng: random.Random | None = None,
                 ttl_seconds: float = 1800, wildcards: Sequence[str] = ()) -> None:
        self.ttl = ttl_seconds
        self.wildcards = sorted({w.lower() for w in wildcards}, key=len, reverse=True)
        self.bindings: dict[str, Binding] = {}
        self.last_bound: tuple[str, str] | None = None  # (key, proxy) when a pick bound anew
        self._ring: list[tuple[int, str]] = []
        super().__init__(pool, rng)

    def load(self, candidates: list[Candidate]) -> None:
        """Build the ring in one sort (inserting 100k proxies one by one is quadratic)."""
        self._ring = sorted(
            (ring_hash(f"{c.id}#{v}"), c.id) for c in candidates for v in range(VNODES)
        )

    def on_change(self, candidate: Candidate, change: Change) -> None:
        """Place new proxies on the ring; removed ones leave it."""
        if change is Change.ADDED:
            for v in range(VNODES):
                bisect.insort(self._ring, (ring_hash(f"{candidate.id}#{v}"), candidate.id))
        elif change is Change.REMOVED:
            self._ring = [node for node in self._ring if node[1] != candidate.id]

    def session_key(self, domain: str) -> str:
        """The binding key: the matching wildcard pattern, else the domain itself."""
        for pattern in self.wildcards:
            base = pattern[2:] if pattern.startswith("*.") else pattern
            if domain == base or domain.endswith("." + base):
                return pattern
        return domain

    def _on_ring(self, key: str) -> str:
        ring, available = self._ring, self.pool.available
        start = bisect.bisect(ring, (ring_hash(key), ""))
        for step in range(len(ring)):
            proxy_id = ring[(start + step) % len(ring)][1]
            if proxy_id in available:
                return proxy_id
        raise NoProxyAvailableError("no proxy is available")

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Reuse a live binding, else bind from the ring."""
        domain = ctx.target_domain()
        if domain is None:
            raise NoProxyAvailableError("sticky_session needs a target domain or URL")
        now = ctx.now.timestamp()
        key = self.session_key(domain)
        self.last_bound = None
        binding = self.bindings.get(key)
        if binding is not None:
            if now - binding.last_used > self.ttl:
                reason = f"binding for {key} expired; rebound"
            elif binding.proxy_id in self.pool.available:
                binding.last_used = now
                return binding.proxy_id, f"sticky for {key}"
            else:
                reason = f"bound proxy for {key} unavailable; fell back"
        else:
            reason = f"new binding for {key}"
        proxy_id = self._on_ring(key)
        self.bindings[key] = Binding(proxy_id, now)
        self.last_bound = (key, proxy_id)
        return proxy_id, reason

    def restore(self, records: Iterable[StickyRecord]) -> None:
        """Rebuild the bindings from the record of earlier picks and expiries, in order
        (a new process continues the sessions of the previous one)."""
        for record in records:
            if record.domain is not None:
                key = self.session_key(record.domain)
                self.bindings[key] = Binding(record.proxy_id, record.at)
            elif record.key is not None:
                binding = self.bindings.get(record.key)
                if binding is not None and binding.proxy_id == record.proxy_id:
                    del self.bindings[record.key]

    def expire(self, now: float) -> list[tuple[str, str]]:
        """Drop bindings idle for longer than the ttl; return (key, proxy) pairs (for events)."""
        gone = [(k, b.proxy_id) for k, b in self.bindings.items()
                if now - b.last_used > self.ttl]
        for key, _ in gone:
            del self.bindings[key]
        return gone
