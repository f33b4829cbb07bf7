"""A signed JSONL export of the event log, verifiable without the master key.

One line per event (id, aggregate, version, event name, time, data with credentials masked,
and the event's digest and chain hash from the audit chain), then a last line with the count,
the final chain hash, the Ed25519 public key and the signature over every preceding byte. The
signing key is derived from the master key, so exports from one data dir share a public key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.store._app import EventStoreApp
from adapters.store._audit import BATCH, GENESIS, chained
from adapters.store._history import EventHistory
from domain.errors import ValidationError


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    """The export signing key for a 32-byte seed (derived from the master key)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_hex(key: Ed25519PrivateKey) -> str:
    """The public half, hex."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def export_events(app: EventStoreApp, key: Ed25519PrivateKey, out: IO[bytes],
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write every event and the signed trailer; returns the trailer."""
    history = EventHistory(app)
    signer = hashlib.sha256()
    head = app.recorder.max_notification_id() or 0
    chain, count, position = GENESIS, 0, 0
    for note, dig, chain in chained(app.recorder):
        entry = history.entry(note).model_dump(mode="json")
        line = json.dumps({**entry, "digest": dig.hex(), "chain": chain.hex()},
                          sort_keys=True).encode() + b"\n"
        out.write(line)
        signer.update(line)
        count, position = count + 1, note.id
        if progress is not None and count % BATCH == 0:
            progress(position, head)
    if progress is not None and count % BATCH:
        progress(position, head)  # the last, partial batch
    trailer = {"events": count, "head": position, "chain": chain.hex(),
               "public_key": public_hex(key),
               "signature": key.sign(signer.digest()).hex()}
    out.write(json.dumps({"export": trailer}, sort_keys=True).encode() + b"\n")
    return trailer


def verify_export(path: Path, public_key: str | None = None) -> dict[str, Any]:
    """Check an export's signature (and, given ``public_key``, that it is the expected key)."""
    signer = hashlib.sha256()
    trailer: dict[str, Any] | None = None
    count = 0
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b'{"export":'):
                trailer = json.loads(line)["export"]
                break
            signer.update(line)
            count += 1
    if trailer is None:
        raise ValidationError("no signed trailer (truncated or not an export)", field="file")
    if public_key is not None and public_key.lower() != trailer["public_key"]:
        return {"ok": False, "reason": "signed with another key", **trailer}
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(trailer["public_key"]))
    try:
        key.verify(bytes.fromhex(trailer["signature"]), signer.digest())
    except InvalidSignature:
        return {"ok": False, "reason": "signature does not match the content", **trailer}
    if count != trailer["events"]:
        return {"ok": False, "reason": "event count does not match", **trailer}
    return {"ok": True, **trailer}
