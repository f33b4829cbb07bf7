"""The eventsourcing application over one SQLite file (or one PostgreSQL schema), with our
encrypting mapper."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Transcoder

from adapters.secrets import DataKeyStore, derive_key
from adapters.sql import PgLocation
from adapters.store._log import EventLog
from adapters.store._mapper import ShreddedEventError, ShreddingMapper
from adapters.store._sqlite import FACTORY_TOPIC as SQLITE_FACTORY
from adapters.store._transcoder import FastJSONTranscoder

PG_EVENTS_TABLE = "vipb_events"  # eventsourcing's name: the application's, + "_events"


class EventStoreApp(Application[UUID]):
    """Loads aggregates and gives access to the recorder and mapper; writes go through the
    group committer (see ``GroupCommitter``), not ``save()``, so many actors share a commit.
    """

    name = "vipb"

    def __init__(self, env: dict[str, str], master: bytes, keystore: DataKeyStore) -> None:
        """``env``: eventsourcing's persistence settings (see ``on_sqlite``,
        ``on_postgres``)."""
        self._app_key = derive_key(master, "event-store")
        self.keystore = keystore
        super().__init__(env=env)
        # the notification log, as every reader follows it (``adapters.store._log``)
        self.event_log = EventLog(self.recorder, self.shredding_mapper.decode_state,
                            ShreddedEventError)

    @classmethod
    def on_sqlite(cls, db_path: Path, master: bytes, keystore: DataKeyStore) -> EventStoreApp:
        """The store in one SQLite file."""
        return cls({"PERSISTENCE_MODULE": SQLITE_FACTORY,
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



class _PostgresEventStore(EventStoreApp):
    """The PostgreSQL flavour (its own class, one application name for the recorder)."""

    name = "vipb"  # eventsourcing names each subclass after itself otherwise
