"""Engine, sessions and migrations for one case store."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from miaopi.store.loop_reader import LoopReader

MIGRATIONS = Path(__file__).parent / "migrations"
# Connections each engine keeps open, and how many more it may open for a while. Requests read the
# store from the server's thread pool (40 threads): with SQLAlchemy's default of 5, every connection
# past the fifth was closed when handed back, and bursts of reads opened new ones, or queued for one.
# Measured while token lookups still ran in that pool (they now run on the event loop, see
# ``loop_reader``), PostgreSQL, two workers, 250 new applicants a second: p99 626–1,746 ms with 5
# kept open, 169–224 ms with 20. At most 40 per engine, plus the loop reader's 4 per event loop: two
# workers stay under PostgreSQL's 100 connections.
POOL_SIZE = 20
POOL_OVERFLOW = 20
CHECKPOINT_SECONDS = 0.1  # how often a busy group-commit writer copies the SQLite WAL back
# WAL frames (pages) past which the next checkpoint runs while the write lock is held. A checkpoint
# outside the lock races the other workers' commits, so under steady load it rarely reaches the end
# of the WAL, and SQLite starts the WAL over only once one has: with two workers and 0.1 s between
# checkpoints the WAL file reached 67–87 MB in 20 s, and 710–780 MB at 1 s. One finished under the
# lock — the checkpoints before it have copied most of the WAL back — lets the next commit start it
# over: 26–35 MB in the same runs.
WAL_RESTART_FRAMES = 4096


def _json_text(value: Any) -> str:
    """JSON columns: UTF-8 text as it is (no \\u escapes), dates in ISO 8601, several times faster than
    the standard library."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk (the WAL synced) before it returns, so a decision answered as stored
    # survives a power cut, not only a crash of the process. Group commits pay one sync per batch.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_writer_pragmas(dbapi_connection: Any, record: Any) -> None:
    """The group-commit writer's connections never checkpoint in their commits: see
    :meth:`Database.write_session`. Their statement journals stay in memory: each multi-row INSERT
    of a group commit keeps one (the pages it changes, as they were, in case it fails part way),
    and in a temporary file that was 15 more writes per case, a third of the writer's (1,000 cases
    in commits of ten: 43,993 → 28,853). In memory it holds at most the pages one commit changes:
    some 40 KB a case, a commit at most 256 cases and 64 MiB of uploads (``approval.writer``)."""
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _engine(url: str, connect_args: dict[str, Any]) -> Engine:
    # hide_parameters: SQL errors and logs never carry the values (ID numbers, names) bound to a statement.
    return create_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_pre_ping=not url.startswith("sqlite"),
        connect_args=connect_args,
        hide_parameters=True,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )


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
        self.engine: Engine = _engine(url, connect_args)
        self.loop_reader = LoopReader(self.engine, connect_args)  # reads from the event loop itself
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_sessions = self._sessions
        self._writer_engine: Engine | None = None  # SQLite file: the group-commit writer's own pool
        self._writer_lock_path: Path | None = None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            database = self.engine.url.database
            if database and database != ":memory:":
                self._writer_lock_path = Path(f"{database}-writer.lock")
                self._writer_engine = _engine(url, connect_args)
                event.listen(self._writer_engine, "connect", _sqlite_writer_pragmas)
                self._writer_sessions = sessionmaker(self._writer_engine, expire_on_commit=False)
        self._writer_threads = threading.Lock()
        self._checkpointed = time.monotonic()
        self._wal_frames = 0  # in the WAL after the last checkpoint, when it did not reach the end

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def one_writer(self) -> bool:
        """A SQLite file: one writer at a time, across the processes that open it."""
        return self._writer_lock_path is not None

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
        with self._unit(self._sessions) as session:
            yield session

    @contextmanager
    def _unit(self, sessions: sessionmaker[Session]) -> Iterator[Session]:
        session = sessions()
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
        locks; there this is :meth:`session`.

        Nor do these commits copy the WAL back into the database (a checkpoint, SQLite's default
        every 1,000 pages), which would double the time the lock is held: the writer checkpoints
        after releasing the lock (:meth:`checkpoint_when_due`, once it has answered the cases it
        committed), at most every ``CHECKPOINT_SECONDS``, in PASSIVE mode — other writers go on
        meanwhile. When the last such checkpoint left ``WAL_RESTART_FRAMES`` or more in the WAL, the
        next one runs before the lock is released."""
        if self._writer_lock_path is None:
            with self.session() as session:
                yield session
            return
        with self._writer_threads:
            descriptor = os.open(self._writer_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                with self._unit(self._writer_sessions) as session:
                    yield session
                if self._wal_frames >= WAL_RESTART_FRAMES:
                    self.checkpoint()  # no writer appends meanwhile: it reaches the end, unless a reader holds it back
            finally:
                os.close(descriptor)  # closing releases the lock

    def checkpoint_when_due(self) -> None:
        """:meth:`checkpoint`, if ``CHECKPOINT_SECONDS`` have passed since the last one. A busy
        writer calls it after its commit, outside the write lock, once the cases it committed have
        their answers: a checkpoint takes 10–15 ms, which they need not wait for."""
        if time.monotonic() - self._checkpointed >= CHECKPOINT_SECONDS:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the SQLite database file, as far as readers allow (PASSIVE:
        never waits for a writer or a reader). Nothing to do on other databases."""
        self._checkpointed = time.monotonic()
        if self._writer_engine is not None:
            with self._writer_engine.connect() as connection:
                _busy, frames, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            self._wal_frames = frames if copied < frames else 0

    def dispose(self) -> None:
        self.loop_reader.close()
        self.engine.dispose()
        if self._writer_engine is not None:
            self._writer_engine.dispose()
