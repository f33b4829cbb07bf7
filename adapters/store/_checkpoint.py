"""Signed checkpoints of the audit chain's head, kept outside the data dir.

A hash chain inside the data dir cannot show that its own tail was cut off: delete the last
events and their chain records and what remains still verifies. A checkpoint is the head
(position, chain hash) signed with an Ed25519 key derived from the master key; the host writes
one to its log (journald, not the data dir) periodically and `vipb audit checkpoint` prints
one for the operator to keep elsewhere. ``check`` recomputes the chain from the event store
itself, so a checkpoint fails when any event up to its position was changed or removed,
whatever the chain file says now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.store._audit import GENESIS, Notifications, chained

FORMAT = 1
_SIGNED = ("vipb_checkpoint", "position", "chain", "time")


def _payload(checkpoint: dict[str, Any]) -> bytes:
    return json.dumps({k: checkpoint[k] for k in _SIGNED}, sort_keys=True,
                      separators=(",", ":")).encode()


def make_checkpoint(position: int, chain: bytes, key: Ed25519PrivateKey,
                    now: datetime | None = None) -> dict[str, Any]:
    """A signed statement that the chain's head was ``chain`` at ``position``."""
    checkpoint: dict[str, Any] = {
        "vipb_checkpoint": FORMAT, "position": position, "chain": chain.hex(),
        "time": (now or datetime.now(UTC)).isoformat(timespec="seconds")}
    checkpoint["public_key"] = key.public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw).hex()
    checkpoint["signature"] = key.sign(_payload(checkpoint)).hex()
    return checkpoint


def read_checkpoints(text: str) -> list[dict[str, Any]]:
    """Every checkpoint in ``text``: one per line as `vipb audit checkpoint` prints them, or
    inside the host's log lines (text, or JSON whose ``msg`` carries one)."""
    found: list[dict[str, Any]] = []
    for line in text.splitlines():
        found += _scan(line)
    return found


def _scan(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    start = text.find("{")
    while start >= 0:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            if "vipb_checkpoint" in value:
                found.append(value)
            elif isinstance(value.get("msg"), str):
                found += _scan(value["msg"])
        start = text.find("{", end)
    return found


def check_checkpoints(checkpoints: list[dict[str, Any]], public_key: Ed25519PublicKey,
                      store: Notifications) -> tuple[dict[str, Any], str] | None:
    """The first checkpoint the event store no longer extends, with why; None when it
    extends them all. Signatures are checked first, then the chain is recomputed from the
    store once, each checkpoint compared as its position is passed."""
    pending: list[tuple[int, bytes, dict[str, Any]]] = []
    for checkpoint in checkpoints:
        try:
            position = int(checkpoint["position"])
            expected = bytes.fromhex(checkpoint["chain"])
            public_key.verify(bytes.fromhex(checkpoint["signature"]), _payload(checkpoint))
        except InvalidSignature:
            return checkpoint, ("the checkpoint's signature is not this data dir's (another "
                                "master key?)")
        except (KeyError, TypeError, ValueError) as exc:
            return checkpoint, f"not a valid checkpoint ({exc})"
        pending.append((position, expected, checkpoint))
    pending.sort(key=lambda item: item[0])
    chain, last = GENESIS, 0
    notes = chained(store)
    ahead = next(notes, None)  # the first event not yet folded into ``chain``
    for position, expected, checkpoint in pending:
        while ahead is not None and ahead[0].id <= position:
            last, chain = ahead[0].id, ahead[2]
            ahead = next(notes, None)
        problem = _compare(checkpoint, position, expected, last, chain)
        if problem is not None:
            return checkpoint, problem
    return None


def _compare(checkpoint: dict[str, Any], position: int, expected: bytes, last: int,
             chain: bytes) -> str | None:
    """Why the chain through event ``last`` (the last one at or before ``position``) is not
    what ``checkpoint`` signed, or None."""
    if last < position:
        return (f"the log ends at event {last} but the checkpoint of {checkpoint['time']} "
                f"covers {position}: events were deleted")
    if chain != expected:
        return (f"the log up to event {position} is not what the checkpoint of "
                f"{checkpoint['time']} signed: events were changed, inserted or removed")
    return None
