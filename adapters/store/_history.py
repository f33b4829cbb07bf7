"""Read the event log itself (not the views) for audit: list and show events, secrets masked."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError, Notification
from pydantic import BaseModel

from adapters.store._app import EventStoreApp
from adapters.store._mapper import ShreddedEventError
from domain.errors import ValidationError
from domain.ids import as_uuid
from domain.secrecy import SECRET_FIELDS

MAX_NOTIFICATION_ID = 2**63 - 1  # SQLite INTEGER


class EventEntry(BaseModel):
    """One stored event as the audit commands show it."""

    notification_id: int
    aggregate_id: str
    version: int
    event: str
    topic: str
    timestamp: str | None
    readable: bool
    note: str | None = None
    data: dict[str, Any] | None = None


def _mask(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key in SECRET_FIELDS and value is not None:
            out[key] = "***"
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, UUID):
            out[key] = str(value)
        elif isinstance(value, dict):
            out[key] = _mask(value)
        else:
            out[key] = value
    return out


class EventHistory:
    """Decode stored events for display; shredded or corrupt ones are listed, not hidden."""

    def __init__(self, app: EventStoreApp) -> None:
        self._app = app

    def entry(self, note: Notification) -> EventEntry:
        """Decode one notification into an ``EventEntry`` (credentials masked)."""
        name = note.topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
        base = {
            "notification_id": note.id, "aggregate_id": str(note.originator_id),
            "version": note.originator_version, "event": name, "topic": note.topic,
        }
        try:
            state = self._app.shredding_mapper.decode_state(note)
        except ShreddedEventError:
            return EventEntry(**base, timestamp=None, readable=False,
                              note="crypto-shredded: its data key was destroyed")
        except MapperDeserialisationError as exc:
            return EventEntry(**base, timestamp=None, readable=False, note=str(exc))
        timestamp = state.pop("timestamp", None)
        state.pop("originator_topic", None)
        return EventEntry(
            **base,
            timestamp=timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp,
            readable=True,
            data=_mask(state),
        )

    def show(self, notification_id: int) -> EventEntry:
        """The event with this notification id."""
        if not 1 <= notification_id <= MAX_NOTIFICATION_ID:
            raise ValidationError(f"must be 1..{MAX_NOTIFICATION_ID} (a notification id)",
                                  field="N")
        notes = self._app.recorder.select_notifications(start=notification_id, limit=1)
        if not notes or notes[0].id != notification_id:
            raise ValidationError(f"no event with notification id {notification_id}", field="N")
        return self.entry(notes[0])

    def log(
        self,
        aggregate: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        types: set[str] | None = None,
    ) -> list[EventEntry]:
        """The last ``limit`` events matching the filters, oldest first.

        ``aggregate`` is an id or an id prefix; ``types``, event names (``ProxyAdded``). With
        ``since``, events whose time is unknown (shredded) are left out because their time
        cannot be read.
        """
        prefix = aggregate.lower().replace("-", "") if aggregate else None
        if prefix is not None and not re.fullmatch(r"[0-9a-f]{1,32}", prefix):
            raise ValidationError(f"{aggregate!r} is not an id or id prefix", field="aggregate")
        found: list[EventEntry] = []
        position = self._app.recorder.max_notification_id() or 0
        while position > 0 and len(found) < limit:
            start = max(0, position - 1000)
            notes = self._app.recorder.select_notifications(
                start=start, limit=1000, stop=position, inclusive_of_start=False
            )
            for note in reversed(notes):
                if prefix and not as_uuid(note.originator_id).hex.startswith(prefix):
                    continue
                if types and note.topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1] not in types:
                    continue
                entry = self.entry(note)
                if since is not None:
                    if entry.timestamp is None:
                        continue
                    if datetime.fromisoformat(entry.timestamp) < since:
                        return list(reversed(found))  # the log is in commit (time) order

                found.append(entry)
                if len(found) >= limit:
                    break
            position = start
        return list(reversed(found))
