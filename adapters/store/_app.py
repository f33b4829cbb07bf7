"""The eventsourcing application over one SQLite file, with our encrypting mapper."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import register_topic

from adapters.secrets import DataKeyStore, derive_key
from adapters.store._mapper import ShreddedEventError, ShreddingMapper
from adapters.store._transcoder import FastJSONTranscoder
from domain import rank

# Modules renamed after events naming them were stored: the old topics (``module:Class.Event``
# in every stored event, hashed into the audit chain, so never rewritten) resolve to the new.
register_topic("domain.automation", rank)


class EventStoreApp(Application[UUID]):
    """Loads aggregates and gives access to the recorder and mapper; writes go through the
    group committer (see ``GroupCommitter``), not ``save()``, so many actors share a commit.
    """

    name = "vipb"

    def __init__(self, db_path: Path, master: bytes, keystore: DataKeyStore) -> None:
        self._app_key = derive_key(master, "event-store")
        self.keystore = keystore
        super().__init__(
            env={
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(db_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        )

    def construct_transcoder(self) -> Transcoder:
        """eventsourcing's JSON format, encoded by orjson where that is equivalent."""
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_mapper(self) -> Mapper[UUID]:
        """Our mapper: per-aggregate data keys where they exist, else the app key."""
        return ShreddingMapper(self.construct_transcoder(), self._app_key, self.keystore)

    @property
    def shredding_mapper(self) -> ShreddingMapper:
        """The mapper with its concrete type (for ``decode_state``)."""
        assert isinstance(self.mapper, ShreddingMapper)
        return self.mapper

    def originators(self, created: str, ended: Sequence[str] = ()) -> list[UUID]:
        """Ids of the aggregates that have a stored ``created`` event and none of the
        ``ended`` ones (each ``Class.Event``, e.g. ``Schedule.ScheduleRemoved``), in the order
        they were created. Read from the topics, which are stored in plain text: nothing is
        decrypted, so the write side finds its aggregates without asking the read models."""
        exclude = "".join(
            " AND NOT EXISTS (SELECT 1 FROM stored_events e WHERE e.originator_id = "
            "s.originator_id AND e.topic LIKE ?)" for _ in ended)
        sql = (f"SELECT s.originator_id FROM stored_events s WHERE s.topic LIKE ?{exclude} "
               "GROUP BY s.originator_id ORDER BY min(s.rowid)")
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, [f"%:{created}", *(f"%:{name}" for name in ended)])
            return [UUID(row[0]) for row in cursor.fetchall()]

    def states_of(self, name: str) -> Iterator[dict[str, Any]]:
        """The decoded data of every stored ``name`` event (``Class.Event``), oldest first;
        events whose data key was destroyed (crypto-shredded) are skipped."""
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT originator_id, originator_version, topic, state FROM "
                           "stored_events WHERE topic LIKE ? ORDER BY rowid", [f"%:{name}"])
            rows = cursor.fetchall()
        for row in rows:
            stored = StoredEvent(originator_id=UUID(row[0]), originator_version=row[1],
                                 topic=row[2], state=row[3])
            try:
                yield self.shredding_mapper.decode_state(stored)
            except ShreddedEventError:
                continue
