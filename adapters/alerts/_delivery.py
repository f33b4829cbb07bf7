"""What every alert channel shares: one payload in, a receipt or a ``DeliveryError`` out."""

from __future__ import annotations

from typing import Any, Protocol

from adapters.egress import EgressRefused

ATTEMPT_DEADLINE = 30.0  # seconds one delivery attempt may take, whatever the receiver does


class DeliveryError(Exception):
    """An attempt failed; ``permanent``: the receiver refused this alert for good (trying
    the same alert again cannot help), else it may be retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def refused(exc: EgressRefused) -> DeliveryError:
    """A delivery the egress guard stopped: given up, unless the name did not resolve (that
    may pass)."""
    return DeliveryError(f"egress guard refused {exc.message}", permanent=not exc.transient)


class Sender(Protocol):
    """One channel's delivery: returns what the receiver answered (for the record)."""

    def send(self, target: dict[str, Any], alert: dict[str, Any]) -> str:
        """Deliver ``alert`` (the payload) to ``target`` (the rule's channel settings)."""
