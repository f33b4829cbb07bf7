"""Event classes by name: ``events_of(Creator, "CreatorAdded", "CreatorRemoved")``.

eventsourcing makes each ``@event("Name")`` of an aggregate a nested class at run time,
which type checkers do not see; readers of the log name the classes they follow through
this, and a misspelt name fails at import rather than matching nothing for ever.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

from eventsourcing.domain import Aggregate, DomainEvent

EventClass = type[DomainEvent]
# what an event's name looks like (its class's: ``PositionRecorded``), wherever one is asked
# for by name (the CLI's ``--type``, a socket client's ``events`` filter)
EVENT_NAME = re.compile(r"[A-Z][A-Za-z0-9]{1,63}")


def events_of(aggregate: type[Aggregate], *names: str) -> tuple[EventClass, ...]:
    """The event classes ``names`` of ``aggregate`` (``LookupError`` when one is not)."""
    found = []
    for name in names:
        cls = getattr(aggregate, name, None)
        if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
            raise LookupError(f"{aggregate.__qualname__} has no event {name!r}")
        found.append(cls)
    return tuple(found)


def events_named(names: Iterable[str]) -> tuple[EventClass, ...]:
    """Every event class called one of ``names`` (``SearchTaskCompleted``; a name such as
    ``Created`` is one class per aggregate), among the aggregates imported so far;
    ``LookupError`` names the first name no class has."""
    wanted = set(names)
    found: list[EventClass] = []
    pending: list[EventClass] = [DomainEvent]
    seen: set[EventClass] = set()
    while pending:
        cls = pending.pop()
        if cls in seen:  # a class under two parents
            continue
        seen.add(cls)
        pending += cls.__subclasses__()
        if cls.__name__ in wanted and _named_as(cls):
            found.append(cls)
    missing = sorted(wanted - {cls.__name__ for cls in found})
    if missing:
        raise LookupError(f"no event is called {missing[0]!r}")
    return tuple(found)


def _named_as(cls: EventClass) -> bool:
    """Is ``cls`` the class its module and qualified name lead to (the one stored events
    name; eventsourcing also makes unnamed helper subclasses of the same name)?"""
    node: object = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        node = getattr(node, part, None)
    return node is cls
