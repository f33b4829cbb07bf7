"""Keep proxy endpoints unique (protocol, host, port, username) via ``EndpointClaim`` aggregates.

The username enters the key only as an HMAC under a key derived from the master key, so the
index never stores a credential in any form that can be read back.
"""

from __future__ import annotations

import hmac
from uuid import UUID

from actors.writer import EventWriter
from domain.errors import DuplicateProxyError
from domain.ids import named_id
from domain.proxy import EndpointClaim


class EndpointIndex:
    """Claim and release endpoint keys; a duplicate claim raises ``DuplicateProxyError``."""

    def __init__(self, writer: EventWriter, hmac_key: bytes) -> None:
        self._writer = writer
        self._hmac_key = hmac_key

    def key(self, protocol: str, host: str, port: int, username: str | None) -> str:
        """The endpoint key used as the claim's name."""
        user = "-"
        if username is not None:
            user = hmac.digest(self._hmac_key, username.encode(), "sha256").hex()
        return f"{protocol}|{host}|{port}|{user}"

    def claim(self, key: str, proxy_id: UUID, endpoint: str) -> EndpointClaim:
        """Claim ``key`` for ``proxy_id``; return the claim aggregate with its pending event."""
        claim = self._writer.load(EndpointClaim, named_id("endpoint", key))
        if claim is None:
            return EndpointClaim(endpoint_key=key, proxy_id=proxy_id)
        if claim.owner is not None and claim.owner != proxy_id:
            raise DuplicateProxyError(endpoint, str(claim.owner))
        if claim.owner is None:
            claim.claim(proxy_id)
        return claim

    def release(self, key: str) -> EndpointClaim | None:
        """Release ``key``; return the claim aggregate with its pending event (if any)."""
        claim = self._writer.load(EndpointClaim, named_id("endpoint", key))
        if claim is not None:
            claim.release()
        return claim
