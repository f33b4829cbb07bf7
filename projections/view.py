"""The ``View`` port: how one group of read tables follows the event log."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from projections.sql import Cursor

Handler = Callable[[Cursor, "EventRecord"], None]


class EventRecord:
    """A decoded notification as views see it: id, aggregate, event name, time and state."""

    __slots__ = (
        "aggregate", "aggregate_id", "name", "notification_id", "state", "timestamp", "topic",
        "version",
    )

    def __init__(
        self,
        notification_id: int,
        aggregate_id: UUID,
        version: int,
        topic: str,
        state: dict[str, Any],
    ) -> None:
        self.notification_id = notification_id
        self.aggregate_id = aggregate_id
        self.aggregate = str(aggregate_id)  # the text form every table stores
        self.version = version
        self.topic = topic
        self.name = event_name(topic)
        self.state = state
        self.timestamp = iso(state.get("timestamp"))


def iso(value: Any) -> str | None:
    """A time from an event's state as the tables store it: ISO 8601 (text as it is)."""
    return value.isoformat() if isinstance(value, datetime) else value


def event_name(topic: str) -> str:
    """``domain.proxy:Proxy.ProxyAdded`` -> ``ProxyAdded``."""
    return topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]


class View(ABC):
    """A group of read tables kept current from events, with its own tracking position.

    ``handlers`` maps event names to methods; events with other names are ignored. ``forget``
    is called for an event that cannot be decoded because its aggregate was crypto-shredded.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    schema_version: ClassVar[int] = 1
    """Raise it whenever the view's tables or what it writes into them change: a views file
    written under another version is dropped and rebuilt from the events at the next start."""

    @abstractmethod
    def create(self, cur: Cursor) -> None:
        """Create the view's tables and indexes if missing."""

    @abstractmethod
    def handlers(self) -> dict[str, Handler]:
        """Event name -> handler writing rows for that event."""

    def wants_all(self) -> bool:
        """True when the view wants every event (e.g. the activity log)."""
        return False

    def handle_any(self, cur: Cursor, record: EventRecord) -> None:  # noqa: B027
        """Handle an event that has no specific handler (views that ``wants_all``)."""

    def flush(self, cur: Cursor) -> None:  # noqa: B027 - optional hook
        """Write rows buffered during the batch; called before the batch commits."""

    def discard(self) -> None:  # noqa: B027 - optional hook
        """Drop rows buffered during a batch that is being rolled back."""

    def forget(  # noqa: B027 - optional hook, most views hold nothing to forget
        self, cur: Cursor, notification_id: int, aggregate_id: UUID, topic: str
    ) -> None:
        """Drop what the view holds about a shredded aggregate (default: nothing)."""

    def drop(self, cur: Cursor) -> None:
        """Drop the view's tables (for a rebuild)."""
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
