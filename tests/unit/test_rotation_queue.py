"""A search's proxy pick is handed out before its record is stored (the record is queued;
the search's own start is stored after it). The day's journal never skips a version: each
record is queued behind the last and refused if that one was, and once a refusal is known
the journal is read again before it takes another record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pykka
import pytest

from actors.rotation_actor import RotationActor
from adapters.store import Pending
from domain.errors import DatabaseError
from domain.proxy import Proxy
from domain.rotation_journal import RotationJournal, journal_id
from tests.helpers import GatedWriter, MemoryWriter

NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def writer() -> GatedWriter:
    return GatedWriter(gating=False)


@pytest.fixture
def rotation(writer: GatedWriter) -> Iterator[pykka.ActorProxy[RotationActor]]:
    ids = []
    for port in (1, 2):
        proxy = Proxy(id=uuid.uuid4(), protocol="http", host="127.0.0.1", port=port,
                      username=None, password=None, label=None, country="DE", weight=1,
                      max_concurrency=10, tags=[])
        MemoryWriter.submit(writer, Pending(), proxy)
        ids.append(str(proxy.id))
    ref = RotationActor.start(writer, lambda: ids, clock=lambda: NOON)
    yield ref.proxy()
    writer.gating = False
    ref.stop()


def _journal(writer: GatedWriter) -> RotationJournal | None:
    """Today's journal as the store has it (replaying checks every version follows)."""
    return writer.load(RotationJournal, journal_id(datetime.fromtimestamp(NOON, UTC).date(),
                                                   None))


def _applied(writer: GatedWriter) -> list[str]:
    return [e.proxy_id for e in writer.events if type(e).__name__ == "RotationApplied"]


def test_picks_are_handed_out_before_their_records_are_stored_and_stored_in_order(
        writer: GatedWriter, rotation: pykka.ActorProxy[RotationActor]) -> None:
    writer.gating = True
    first = rotation.pick(None).get(timeout=10)  # returns with its record still queued
    second = rotation.pick(None).get(timeout=10)  # (queued behind the first, not waiting)
    assert _applied(writer) == [] and len(writer.waiting) == 2
    flushed = rotation.flush_usage()  # a waited save: behind both records
    for _ in range(3):
        writer.let()
    flushed.get(timeout=10)
    assert _applied(writer) == [first.selection.proxy_id, second.selection.proxy_id]
    assert _journal(writer) is not None  # every version follows the one before


def test_a_refused_record_is_not_built_on(writer: GatedWriter,
                                          rotation: pykka.ActorProxy[RotationActor]) -> None:
    writer.gating = True
    rotation.pick(None).get(timeout=10)
    rotation.pick(None).get(timeout=10)  # queued behind the first: refused with it
    writer.let(DatabaseError("event store write failed: disk full"))
    writer.let()
    third = rotation.pick(None).get(timeout=10)  # the journal is read again first
    writer.let()
    journal = _journal(writer)
    assert _applied(writer) == [third.selection.proxy_id]
    assert journal is not None and journal.version == 2  # opened again, one pick
