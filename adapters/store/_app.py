"""The eventsourcing application over one SQLite file (or one PostgreSQL schema), with our
encrypting mapper."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import register_topic
from psycopg.rows import tuple_row

from adapters.secrets import DataKeyStore, derive_key
from adapters.sql import PgLocation
from adapters.store._mapper import ShreddedEventError, ShreddingMapper
from adapters.store._transcoder import FastJSONTranscoder
from domain import rank
from domain.ids import as_uuid

# Modules renamed after events naming them were stored: the old topics (``module:Class.Event``
# in every stored event, hashed into the audit chain, so never rewritten) resolve to the new.
register_topic("domain.automation", rank)

PG_EVENTS_TABLE = "vipb_events"  # eventsourcing's name: the application's, + "_events"


class EventStoreApp(Application[UUID]):
    """Loads aggregates and gives access to the recorder and mapper; writes go through the
    group committer (see ``GroupCommitter``), not ``save()``, so many actors share a commit.
    """

    name = "vipb"
    position_column = "rowid"  # the notification id, as the events table names it
    events_table = "stored_events"  # eventsourcing's name for it in SQLite

    def __init__(self, env: dict[str, str], master: bytes, keystore: DataKeyStore) -> None:
        """``env``: eventsourcing's persistence settings (see ``on_sqlite``,
        ``on_postgres``)."""
        self._app_key = derive_key(master, "event-store")
        self.keystore = keystore
        super().__init__(env=env)

    @classmethod
    def on_sqlite(cls, db_path: Path, master: bytes, keystore: DataKeyStore) -> EventStoreApp:
        """The store in one SQLite file."""
        return cls({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(db_path), "SQLITE_LOCK_TIMEOUT": "30"},
                   master, keystore)

    @classmethod
    def on_postgres(cls, location: PgLocation, master: bytes,
                    keystore: DataKeyStore) -> EventStoreApp:
        """The store in PostgreSQL (eventsourcing's recorder; the password is read at each
        connection by ``store_password``, libpq's own sources when that is empty)."""
        app = _PostgresEventStore({
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": location.dbname, "POSTGRES_HOST": location.host,
            "POSTGRES_PORT": str(location.port), "POSTGRES_USER": location.user,
            "POSTGRES_GET_PASSWORD_TOPIC": "adapters.sql._location:store_password",
            "POSTGRES_SCHEMA": location.schema_of("events"),
            "POSTGRES_POOL_SIZE": "4", "POSTGRES_MAX_OVERFLOW": "16",
            "POSTGRES_CONNECT_TIMEOUT": "10", "POSTGRES_LOCK_TIMEOUT": "30",
        }, master, keystore)
        app.events_table = f'"{location.schema_of("events")}".{PG_EVENTS_TABLE}'
        return app

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
            f" AND NOT EXISTS (SELECT 1 FROM {self.events_table} e WHERE e.originator_id = "
            "s.originator_id AND e.topic LIKE ?)" for _ in ended)
        sql = (f"SELECT s.originator_id FROM {self.events_table} s WHERE s.topic LIKE ?{exclude} "
               f"GROUP BY s.originator_id ORDER BY min(s.{self.position_column})")
        rows = self._select(sql, [f"%:{created}", *(f"%:{name}" for name in ended)])
        return [as_uuid(row[0]) for row in rows]

    def _select(self, sql: str, params: list[Any]) -> list[Any]:
        """Rows of one query on the events table (``?`` placeholders), as tuples."""
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def states_of(self, name: str) -> Iterator[dict[str, Any]]:
        """The decoded data of every stored ``name`` event (``Class.Event``), oldest first;
        events whose data key was destroyed (crypto-shredded) are skipped."""
        rows = self._select("SELECT originator_id, originator_version, topic, state FROM "
                            f"{self.events_table} WHERE topic LIKE ? ORDER BY "
                            f"{self.position_column}",
                            [f"%:{name}"])
        for row in rows:
            stored = StoredEvent(originator_id=as_uuid(row[0]), originator_version=row[1],
                                 topic=row[2], state=bytes(row[3]))
            try:
                yield self.shredding_mapper.decode_state(stored)
            except ShreddedEventError:
                continue


class _PostgresEventStore(EventStoreApp):
    """The PostgreSQL flavour: notification ids by name, ``%s`` placeholders, tuple rows."""

    name = "vipb"  # eventsourcing names each subclass after itself otherwise
    position_column = "notification_id"
    events_table = PG_EVENTS_TABLE

    def _select(self, sql: str, params: list[Any]) -> list[Any]:
        datastore = self.recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), params)
            return list(cur.fetchall())
