"""A Mapper that encrypts every event: with its aggregate's own data key when it has one
(crypto-shredding), otherwise with a key derived from the master key.

Only event classes marked ``carries_secrets`` use the data key; the rest of that aggregate's
events (e.g. its removal) stay readable after shredding. The first byte of the stored state
says which: ``b"A"`` app key, ``b"D"`` data key. The
ciphertext is bound to (originator id, version), so a row copied elsewhere does not decrypt.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from adapters.secrets import Aead, DataKeyStore

APP_KEY = b"A"
DATA_KEY = b"D"


class CorruptEventError(MapperDeserialisationError):
    """A stored event cannot be read (altered bytes, or encrypted with another key)."""

    def __init__(self, topic: str, originator_id: UUID, version: int, why: str) -> None:
        super().__init__(f"event {topic} v{version} of {originator_id} {why}")
        self.topic, self.originator_id, self.version = topic, originator_id, version


class ShreddedEventError(MapperDeserialisationError):
    """The event was encrypted with a data key that has been destroyed."""


def _aad(originator_id: UUID, version: int) -> bytes:
    return originator_id.bytes + version.to_bytes(8, "big")


class ShreddingMapper(Mapper[UUID]):
    """Convert domain events to encrypted stored events and back."""

    def __init__(self, transcoder: Transcoder, app_key: bytes, keystore: DataKeyStore) -> None:
        super().__init__(transcoder=transcoder)
        self._app = Aead(app_key)
        self._keystore = keystore
        self._aeads: dict[bytes, Aead] = {}

    def _data_aead(self, originator_id: UUID) -> Aead | None:
        key = self._keystore.get(originator_id)
        if key is None:
            return None
        aead = self._aeads.get(key)
        if aead is None:
            aead = self._aeads[key] = Aead(key)
        return aead

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """Encode and encrypt one domain event."""
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        plain = self.transcoder.encode(state)
        aad = _aad(originator_id, version)
        aead = (
            self._data_aead(originator_id)
            if getattr(type(domain_event), "carries_secrets", False)
            else None
        )
        sealed = DATA_KEY + aead.encrypt(plain, aad) if aead else APP_KEY + self._app.encrypt(
            plain, aad
        )
        return StoredEvent(
            originator_id=originator_id,
            originator_version=version,
            topic=get_topic(type(domain_event)),
            state=sealed,
        )

    def decode_state(self, stored: StoredEvent) -> dict[str, Any]:
        """Decrypt and decode the state dict of a stored event, upcast to its class's
        current version (no domain object built): what projections and history read."""
        state = self._decrypt_decode(stored)
        try:
            cls = resolve_topic(stored.topic)
        except TopicError:  # a class no release defines any more: its state as stored
            return state
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return state

    def _decrypt_decode(self, stored: StoredEvent) -> dict[str, Any]:
        originator_id = cast(UUID, stored.originator_id)
        aad = _aad(originator_id, stored.originator_version)
        marker, body = stored.state[:1], stored.state[1:]
        try:
            if marker == DATA_KEY:
                aead = self._data_aead(originator_id)
                if aead is None:
                    raise ShreddedEventError(
                        f"event {stored.topic} v{stored.originator_version} of {originator_id} "
                        "was crypto-shredded (its data key is destroyed)"
                    )
                plain = aead.decrypt(body, aad)
            elif marker == APP_KEY:
                plain = self._app.decrypt(body, aad)
            else:
                raise MapperDeserialisationError(f"unknown state marker {marker!r}")
        except InvalidTag:
            raise CorruptEventError(stored.topic, originator_id, stored.originator_version,
                                    "failed authentication (altered, or a different master "
                                    "key)") from None
        state: dict[str, Any] = self.transcoder.decode(plain)
        return state

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Decrypt, decode and rebuild the domain event object."""
        cls = resolve_topic(stored_event.topic)
        state = self.decode_state(stored_event)
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast(DomainEventProtocol[UUID], domain_event)
