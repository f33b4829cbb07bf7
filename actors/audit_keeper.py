"""``AuditKeeper``: the audit chain with its identity on record and its checkpoints.

The chain file (``adapters.store.AuditChain``) carries a random id; the event log records
which id is in force (``AuditLog``). A chain file that is missing, empty or another one is an
error: nothing is sealed over it (which would vouch for whatever the log holds now) until the
operator runs ``vipb audit reset``, which is itself an event. Checkpoints (signed heads) are
what the operator keeps outside the data dir; the host logs one periodically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import AggregateNotFoundError

from actors.writer import EventWriter
from adapters.store import (
    AuditChain,
    AuditReport,
    EventStoreApp,
    check_checkpoints,
    make_checkpoint,
)
from domain.audit_log import AUDIT_LOG_ID, AuditLog
from domain.errors import ConcurrencyError, ValidationError

log = logging.getLogger(__name__)


class AuditKeeper:
    """Seal, verify, checkpoint and reset the audit chain of one data dir."""

    def __init__(self, chain: AuditChain, app: EventStoreApp, key: Ed25519PrivateKey,
                 writer: EventWriter | None = None) -> None:
        self.chain = chain
        self._app = app
        self._key = key
        self._writer = writer  # None: read-only (the CLI beside a running host)
        self._warned = False
        self._last_checkpoint = 0.0
        if writer is not None and self._store_head() == 0 and chain.chain_id() is None:
            chain.adopt_chain_id(uuid.uuid4().hex)  # a new data dir: its chain from the start

    def _record(self) -> AuditLog | None:
        try:
            found: AuditLog = self._app.repository.get(AUDIT_LOG_ID)
        except AggregateNotFoundError:
            return None
        return found

    def _store_head(self) -> int:
        return self._app.event_log.head()

    def problem(self) -> str | None:
        """Why the chain file is not the one on record (deleted, reset, replaced), or None."""
        record = self._record()
        return self.chain.identity_problem(record.chain_id if record else None,
                                           self._store_head())

    def ensure_recorded(self) -> None:
        """Put the chain's id on record the first time there is something to seal (a new
        data dir, or one from before chain ids). Needs the writer (and its committer)."""
        if self._writer is None or self._record() is not None:
            return
        head = self._store_head()
        if head == 0 or self.chain.identity_problem(None, head) is not None:
            return  # nothing to seal yet; or a missing chain: `vipb audit reset` decides
        chain_id = self.chain.chain_id() or self.chain.adopt_chain_id(uuid.uuid4().hex)
        # another host sharing the store may put it on record first (the same id)
        with contextlib.suppress(ConcurrencyError):
            self._writer.save(AuditLog(chain_id=chain_id, adopted_head=self.chain.head()[0]))

    def seal(self) -> int:
        """Seal new events, unless the chain is missing or reset (then say so, once)."""
        problem = self.problem()
        if problem is not None:
            if not self._warned:
                log.error("audit: %s", problem)
                self._warned = True
            return 0
        return self.chain.seal(self._app.event_log)

    def verify(self, progress: Callable[[int, int], None] | None = None) -> AuditReport:
        """Recompute the chain from the store, the chain's identity included."""
        record = self._record()
        return self.chain.verify(self._app.event_log, progress,
                                 recorded_chain_id=record.chain_id if record else None)

    def checkpoint(self) -> dict[str, Any]:
        """A signed checkpoint of the sealed head (refused while the chain is not sound)."""
        report = self.verify()
        if not report.ok:
            detail = (report.problem or {}).get("detail", "it does not verify")
            raise ValidationError(f"no checkpoint of a chain that fails: {detail}",
                                  field="audit")
        position, chain = self.chain.head()
        return make_checkpoint(position, chain, self._key)

    def check(self, checkpoints: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
        """The first checkpoint the log no longer extends, with why; None if it extends
        them all (one pass over the store however many there are)."""
        return check_checkpoints(checkpoints, self._key.public_key(), self._app.event_log)

    def log_checkpoint(self, every: float, now: Callable[[], float] = time.monotonic) -> None:
        """Write a checkpoint to the log if ``every`` seconds passed since the last one."""
        if now() - self._last_checkpoint < every or self.problem() is not None:
            return
        position, chain = self.chain.head()
        if position == 0:
            return
        self._last_checkpoint = now()
        log.info("audit checkpoint %s", json.dumps(make_checkpoint(position, chain, self._key),
                                                   sort_keys=True))

    def reset(self, reason: str) -> dict[str, Any]:
        """Start a new chain over the log as it is now, with the reason on record."""
        if self._writer is None:
            raise ValidationError("resetting the audit chain needs the write side", field="audit")
        chain_id = uuid.uuid4().hex
        head = self._store_head()
        record = self._record()
        previous = record.chain_id if record else None
        if record is None:
            record = AuditLog(chain_id=chain_id, adopted_head=0)
        record.reset(chain_id=chain_id, reason=reason, store_head=head)
        self.chain.restart(chain_id)
        self._writer.save(record)
        self._warned = False
        return {"chain_id": chain_id, "previous_chain_id": previous, "reason": reason,
                "store_head": head}
