"""The eventsourcing Application: event store, cipher, transcodings and the shared session."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, JSONTranscoder, Transcoding
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from engine.config import Settings


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CaseStore(Application):
    """Stores every case's events in the `casework_events` table (created by Alembic)."""

    name = "Casework"

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._db_engine = engine
        env: dict[str, Any] = {
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "CREATE_TABLE": "no",
        }
        if settings.cipher_key:
            env["CIPHER_TOPIC"] = "eventsourcing.cipher:AESCipher"
            env["CIPHER_KEY"] = settings.cipher_key
        super().__init__(env=env)

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = SQLAlchemyFactory(env)
        factory.datastore = SQLAlchemyDatastore(session_maker=sessionmaker(bind=self._db_engine))
        return factory

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
