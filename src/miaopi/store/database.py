"""Engine, sessions and migrations for one case store."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def _json_text(value: Any) -> str:
    """JSON columns: UTF-8 text as it is (no \\u escapes), dates in ISO 8601, several times faster than
    the standard library."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """One case store. ``url`` is a SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://…``."""

    def __init__(self, url: str, *, search_path: str | None = None) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.url = url
        connect_args: dict[str, Any] = {}
        if search_path is not None:
            # Separate schemas keep concurrent users of one PostgreSQL database (tests, tenants) apart.
            connect_args["options"] = f"-csearch_path={search_path}"
        # hide_parameters: SQL errors and logs never carry the values (ID numbers, names) bound to a statement.
        self.engine: Engine = create_engine(
            url,
            pool_pre_ping=not url.startswith("sqlite"),
            connect_args=connect_args,
            hide_parameters=True,
            json_serializer=_json_text,
            json_deserializer=orjson.loads,
        )
        self._writer_lock_path: Path | None = None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            database = self.engine.url.database
            if database and database != ":memory:":
                self._writer_lock_path = Path(f"{database}-writer.lock")
        self._writer_threads = threading.Lock()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        command.upgrade(self.alembic_config(), "head")

    def tables(self) -> set[str]:
        return set(inspect(self.engine).get_table_names())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A unit of work for a busy writer (the case writer's group commits).

        SQLite has one writer at a time, and a writer that finds the database locked polls: its busy
        handler sleeps 1, 2, 5 … up to 100 ms between tries, so with several worker processes most
        of a second could go to sleeping while the lock is free. Busy writers of one SQLite file
        therefore queue on an exclusive ``flock`` of ``<database>-writer.lock`` first: the kernel
        wakes the next one the moment the lock is released. Other databases queue on their own
        locks; there this is :meth:`session`."""
        if self._writer_lock_path is None:
            with self.session() as session:
                yield session
            return
        with self._writer_threads:
            descriptor = os.open(self._writer_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                with self.session() as session:
                    yield session
            finally:
                os.close(descriptor)  # closing releases the lock

    def dispose(self) -> None:
        self.engine.dispose()
