"""Creator watch: a public page to keep an eye on (a creator's profile, channel or site).

A ``Creator`` names the page and how it is watched; each check of it is a ``CreatorChecked``
event: reachable or not and why, the HTTP status, where redirects led, the title, the
canonical URL, a fingerprint of the main text and whether it changed since the last check.
A check only loads the page: nothing on it is clicked, played or engaged with.

A check a schedule asks for is a ``CreatorCheckTask``, queued with the schedule's run: like
a search task it is claimed by the host that runs it (several hosts may share the store),
resumed after a restart, taken over after a dead host's lease runs out, and finished in the
same transaction as the creator's ``CreatorChecked``, so each is recorded once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.claims import claimable
from domain.errors import ValidationError

EDITABLE = ("url", "platform", "priority", "enabled", "tags")


class Creator(Aggregate):
    """A watched public page; its name is unique among the creators not removed."""

    @event("CreatorAdded")
    def __init__(self, id: UUID, name: str, url: str, platform: str, priority: int,
                 enabled: bool, tags: list[str]) -> None:
        self.name = name
        self.url = url
        self.platform = platform
        self.priority = priority
        self.enabled = enabled
        self.tags = tags
        self.removed = False
        self.fingerprint: str | None = None  # of the main text at the last reachable check
        self.checks = 0

    def update(self, **changes: Any) -> bool:
        """Change the given fields (url, platform, priority, enabled, tags); False (no event)
        when every value is already so. Refused once removed."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValidationError(f"cannot change {sorted(unknown)[0]}", field="creator")
        if self.removed:
            raise ValidationError(f"creator {self.name!r} was removed", field="name")
        different = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not different:
            return False
        self._updated(changes=different)
        return True

    @event("CreatorUpdated")
    def _updated(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def remove(self) -> bool:
        """Stop watching (its checks stay on record; the name can be used again); False
        when already removed."""
        if self.removed:
            return False
        self._removed()
        return True

    @event("CreatorRemoved")
    def _removed(self) -> None:
        self.removed = True

    def record_check(self, *, reachable: bool, reason: str | None, http_status: int | None,
                     final_url: str | None, title: str | None, canonical_url: str | None,
                     fingerprint: str | None, latency_ms: float | None,
                     proxy_id: str | None, attempts: int) -> bool:
        """Record one check; returns ``changed``: the main text's fingerprint differs from the
        last reachable check's (False at the first, and when unreachable)."""
        changed = (reachable and fingerprint is not None and self.fingerprint is not None
                   and fingerprint != self.fingerprint)
        self._checked(reachable=reachable, reason=reason, http_status=http_status,
                      final_url=final_url, title=title, canonical_url=canonical_url,
                      fingerprint=fingerprint, changed=changed, latency_ms=latency_ms,
                      proxy_id=proxy_id, attempts=attempts)
        return changed

    @event("CreatorChecked")
    def _checked(self, reachable: bool, reason: str | None, http_status: int | None,
                 final_url: str | None, title: str | None, canonical_url: str | None,
                 fingerprint: str | None, changed: bool, latency_ms: float | None,
                 proxy_id: str | None, attempts: int) -> None:
        self.checks += 1
        if reachable and fingerprint is not None:
            self.fingerprint = fingerprint


class CreatorCheckTask(Aggregate):
    """One scheduled check of one creator, from queue to outcome (see ``SearchTask`` for
    claims: the same protocol, with these events)."""

    claimed_by: str | None = None
    lease_until: datetime | None = None

    @event("CreatorCheckQueued")
    def __init__(self, id: UUID, creator_id: str, name: str, origin: str, profile: str,
                 proxy: str) -> None:
        self.creator_id = creator_id
        self.name = name  # as it was when queued (the creator's id is what counts)
        self.origin = origin
        self.profile = profile
        self.proxy = proxy
        self.attempts = 0
        self.outcome: str | None = None  # checked, skipped or failed

    @property
    def finished(self) -> bool:
        """Checked (the creator's ``CreatorChecked`` is on record), skipped or failed."""
        return self.outcome is not None

    def claimable_by(self, host_id: str, now: datetime) -> bool:
        """See ``domain.claims.claimable``."""
        return claimable(self.finished, self.claimed_by, self.lease_until, host_id, now)

    @event("CreatorCheckClaimed")
    def claimed(self, host_id: str, lease_until: datetime, previous: str | None) -> None:
        """``host_id`` runs the check until ``lease_until`` unless it renews the lease;
        ``previous``: the host whose claim it takes over (its lease ran out)."""
        self.claimed_by = host_id
        self.lease_until = lease_until

    @event("CreatorCheckLeaseRenewed")
    def lease_renewed(self, host_id: str, lease_until: datetime) -> None:
        """The claiming host still runs the check."""
        self.lease_until = lease_until

    @event("CreatorCheckReleased")
    def released(self, host_id: str, reason: str) -> None:
        """The claiming host stopped before an outcome: any host may claim the check now."""
        self.claimed_by = None
        self.lease_until = None

    @event("CreatorCheckStarted")
    def started(self, attempt: int) -> None:
        """Attempt ``attempt`` (counted on across hosts) loads the page."""
        self.attempts = attempt

    @event("CreatorCheckFinished")
    def finished_with(self, outcome: str, note: str | None) -> None:
        """``checked`` (recorded with the creator's ``CreatorChecked``), ``skipped`` with
        why (the creator was removed or disabled, or its URL is refused now), or ``failed``
        (an internal error, named in ``note``)."""
        self.outcome = outcome
