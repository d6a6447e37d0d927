"""Each engine keeps ``POOL_SIZE`` connections open: connections handed back by a burst of
concurrent readers are reused, not closed and opened again for the next burst."""

from __future__ import annotations

from contextlib import ExitStack

from sqlalchemy import QueuePool, event

from miaopi.store import Database
from miaopi.store.database import POOL_OVERFLOW, POOL_SIZE


def test_a_burst_of_readers_leaves_its_connections_open_for_the_next(database: Database) -> None:
    opened: list[object] = []
    event.listen(database.engine, "connect", lambda connection, _record: opened.append(connection))
    assert isinstance(database.engine.pool, QueuePool)
    for _burst in range(3):
        with ExitStack() as stack:  # POOL_SIZE readers at once, as the server's thread pool may be
            for _ in range(POOL_SIZE):
                stack.enter_context(database.engine.connect()).exec_driver_sql("SELECT 1")
        assert database.engine.pool.checkedin() == POOL_SIZE
    assert len(opened) <= POOL_SIZE  # the later bursts opened nothing new
    assert POOL_SIZE + POOL_OVERFLOW <= 40  # two workers stay under PostgreSQL's 100 connections
