"""Event classes by name: ``events_of(Creator, "CreatorAdded", "CreatorRemoved")``.

eventsourcing makes each ``@event("Name")`` of an aggregate a nested class at run time,
which type checkers do not see; readers of the log name the classes they follow through
this, and a misspelt name fails at import rather than matching nothing for ever.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate, DomainEvent

EventClass = type[DomainEvent]


def events_of(aggregate: type[Aggregate], *names: str) -> tuple[EventClass, ...]:
    """The event classes ``names`` of ``aggregate`` (``LookupError`` when one is not)."""
    found = []
    for name in names:
        cls = getattr(aggregate, name, None)
        if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
            raise LookupError(f"{aggregate.__qualname__} has no event {name!r}")
        found.append(cls)
    return tuple(found)
