"""Deterministic ids for aggregates that must be unique by name (indexes, singletons)."""

from __future__ import annotations

from uuid import UUID, uuid5

VIPB_NAMESPACE = UUID("6f1c2a52-3b1e-4f0e-9d55-0c2a6c3f7b10")


def as_uuid(value: UUID | str) -> UUID:
    """Notifications type ids as ``UUID | str``; ours are always UUIDs."""
    return value if isinstance(value, UUID) else UUID(value)


def named_id(kind: str, name: str) -> UUID:
    """The same (kind, name) always gives the same UUID; different kinds never collide."""
    return uuid5(VIPB_NAMESPACE, f"{kind}:{name}")
