"""Creator watch: a public page to keep an eye on (a creator's profile, channel or site).

A ``Creator`` names the page and how it is watched; each check of it is a ``CreatorChecked``
event: reachable or not and why, the HTTP status, where redirects led, the title, the
canonical URL, a fingerprint of the main text and whether it changed since the last check.
A check only loads the page: nothing on it is clicked, played or engaged with.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

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
