"""The ``Proxy`` aggregate and the ``EndpointClaim`` index that keeps endpoints unique.

Proxy events carry credentials in clear inside the event object; the store encrypts every event
of a proxy with that proxy's own data key, so removing the proxy and destroying the key makes
them unreadable everywhere (crypto-shredding).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.endpoints import endpoint_url
from domain.errors import ProxyNotFoundError
from domain.ids import named_id


class Proxy(Aggregate):
    """One proxy of the pool: endpoint, credentials, metadata and lifecycle."""

    class ProxyUpdated(Aggregate.Event):
        """Fields changed; credentials too when ``credentials_changed``.

        An explicit event class (not ``@event`` on a method): updates are the hot path,
        and ``apply`` here skips eventsourcing's decorated-method dispatch.
        """

        carries_secrets = True  # encrypted with the proxy's data key (see the mapper)

        changes: dict[str, Any]
        credentials_changed: bool
        username: str | None
        password: str | None

        def apply(self, aggregate: Aggregate) -> None:
            """Set the changed fields on the proxy."""
            for name, value in self.changes.items():
                setattr(aggregate, name, value)
            if self.credentials_changed:
                aggregate.username = self.username  # type: ignore[attr-defined]
                aggregate.password = self.password  # type: ignore[attr-defined]

    @event("ProxyAdded")
    def __init__(
        self,
        id: UUID,
        protocol: str,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        label: str | None,
        country: str | None,
        weight: int,
        max_concurrency: int,
        tags: list[str],
        region: str | None = None,
    ) -> None:
        self.protocol = protocol
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.label = label
        self.country = country
        self.weight = weight
        self.max_concurrency = max_concurrency
        self.tags = list(tags)
        self.region = region
        self.removed = False

    def endpoint(self) -> str:
        """Protocol, host and port as a URL without credentials."""
        return endpoint_url(self.protocol, self.host, self.port)

    def update(
        self,
        changes: dict[str, Any],
        credentials: tuple[str | None, str | None] | None,
    ) -> None:
        """Apply changed fields; ``credentials`` is (username, password) or None to keep them."""
        self._check_present()
        effective = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if credentials is not None and credentials == (self.username, self.password):
            credentials = None
        if not effective and credentials is None:
            return
        username, password = credentials if credentials is not None else (None, None)
        self.trigger_event(
            self.ProxyUpdated,
            changes=effective,
            credentials_changed=credentials is not None,
            username=username,
            password=password,
        )

    def remove(self, reason: str) -> None:
        """Mark the proxy removed; a removed proxy refuses every later change."""
        self._check_present()
        self._removed(reason=reason)

    @event("ProxyRemoved")
    def _removed(self, reason: str) -> None:
        self.removed = True

    def _check_present(self) -> None:
        if self.removed:
            raise ProxyNotFoundError(str(self.id))


class EndpointClaim(Aggregate):
    """Index entry: which proxy currently owns (protocol, host, port, username-digest).

    Its id is derived from the endpoint key, so two concurrent adds of the same endpoint
    collide in the store (same id, same version) and exactly one wins.
    """

    @staticmethod
    def create_id(endpoint_key: str, proxy_id: UUID) -> UUID:
        """Derive the claim's id from the endpoint key alone."""
        return named_id("endpoint", endpoint_key)

    @event("EndpointRegistered")
    def __init__(self, endpoint_key: str, proxy_id: UUID) -> None:
        self.owner: UUID | None = proxy_id

    def claim(self, proxy_id: UUID) -> None:
        """Give a free endpoint to ``proxy_id``."""
        if self.owner is not None:
            raise ValueError("endpoint already claimed")
        self._claimed(proxy_id=proxy_id)

    @event("EndpointClaimed")
    def _claimed(self, proxy_id: UUID) -> None:
        self.owner = proxy_id

    def release(self) -> None:
        """Free the endpoint (its proxy was removed or moved to another endpoint)."""
        if self.owner is not None:
            self._released(proxy_id=self.owner)

    @event("EndpointReleased")
    def _released(self, proxy_id: UUID) -> None:
        self.owner = None


# Events that carry credentials are encrypted with the proxy's own data key and die with it;
# ProxyRemoved carries none, so it stays readable for the audit trail after shredding.
Proxy.ProxyAdded.carries_secrets = True  # type: ignore[attr-defined]
