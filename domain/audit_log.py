"""The ``AuditLog`` singleton: which audit chain vouches for the event log, on record.

The chain lives in its own file; deleting or replacing that file must not pass as a fresh
start. The event log itself says which chain (a random id, also stored in the chain file)
was started when, and every deliberate reset, with its reason; a chain file whose id is not
the recorded one is a missing or reset chain until ``vipb audit reset`` records a new one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import named_id

AUDIT_LOG_ID = named_id("singleton", "audit-log")


class AuditLog(Aggregate):
    """The audit chain in force and its history of resets."""

    @staticmethod
    def create_id(chain_id: str, adopted_head: int) -> UUID:
        """The singleton always has the same id."""
        return AUDIT_LOG_ID

    @event("AuditChainStarted")
    def __init__(self, chain_id: str, adopted_head: int) -> None:
        """A chain started with this data dir, or an existing one (sealed up to
        ``adopted_head``) taken over on upgrade."""
        self.chain_id = chain_id
        self.resets = 0

    def reset(self, chain_id: str, reason: str, store_head: int) -> None:
        """The operator replaced a missing or broken chain by a new one over the log as it
        is now (``store_head`` events)."""
        self._reset(chain_id=chain_id, previous_chain_id=self.chain_id, reason=reason,
                    store_head=store_head)

    @event("AuditChainReset")
    def _reset(self, chain_id: str, previous_chain_id: str, reason: str,
               store_head: int) -> None:
        self.chain_id = chain_id
        self.resets += 1

    def describe(self) -> dict[str, Any]:
        """For status output."""
        return {"chain_id": self.chain_id, "resets": self.resets}
