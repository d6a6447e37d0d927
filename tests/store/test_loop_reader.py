"""Reads from the event loop: the first row or None, from any number of event loops one after the
other, many at once on few connections, and again after PostgreSQL dropped the connection."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import bindparam, select, text, update

from miaopi.audit.chain import HEAD
from miaopi.store import Database
from miaopi.store.loop_reader import CONNECTIONS_PER_LOOP

HEAD_ROW = select(HEAD.c.seq, HEAD.c.entry_hash).where(HEAD.c.id == bindparam("id"))


def test_the_first_row_as_a_mapping_or_none(database: Database) -> None:
    async def both() -> tuple[object, object]:
        return (
            await database.loop_reader.first(HEAD_ROW, {"id": 1}),
            await database.loop_reader.first(HEAD_ROW, {"id": 2}),
        )

    for _loop in range(3):  # each asyncio.run is a new event loop, as each test client starts one
        found, missing = asyncio.run(both())
        assert found == {"seq": 0, "entry_hash": "0" * 64}
        assert missing is None


def test_many_reads_at_once_share_a_few_connections(database: Database) -> None:
    async def many() -> list[object]:
        return await asyncio.gather(
            *(database.loop_reader.first(HEAD_ROW, {"id": 1}) for _ in range(CONNECTIONS_PER_LOOP * 10))
        )

    assert all(row == {"seq": 0, "entry_hash": "0" * 64} for row in asyncio.run(many()))
    if database.dialect == "postgresql":
        opened = sum(len(connections.all) for connections in database.loop_reader._loops.values())
        assert opened == CONNECTIONS_PER_LOOP
    database.loop_reader.close()
    assert database.loop_reader._loops == {}
    assert database.loop_reader._sqlite == {}


def test_each_read_sees_the_latest_commit(database: Database) -> None:
    """SQLite keeps one connection per event loop between reads: it must not keep an old snapshot."""

    async def read_commit_read() -> list[object]:
        seen = [await database.loop_reader.first(HEAD_ROW, {"id": 1})]
        for seq in (7, 8):
            with database.engine.begin() as connection:
                connection.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq))
            seen.append(await database.loop_reader.first(HEAD_ROW, {"id": 1}))
        return [row["seq"] for row in seen if row is not None]

    assert asyncio.run(read_commit_read()) == [0, 7, 8]
    if database.dialect == "sqlite":
        assert len(database.loop_reader._sqlite) == 1  # one connection for the loop's reads


def test_closed_from_another_thread_than_the_loops(database: Database) -> None:
    """A server's event loop runs in its own thread; the database is disposed of from the main one."""
    found: list[object] = []
    loop_thread = threading.Thread(
        target=lambda: found.append(asyncio.run(database.loop_reader.first(HEAD_ROW, {"id": 1})))
    )
    loop_thread.start()
    loop_thread.join()
    assert found == [{"seq": 0, "entry_hash": "0" * 64}]
    database.loop_reader.close()
    assert database.loop_reader._sqlite == {} and database.loop_reader._loops == {}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite reads in process
def test_a_dropped_connection_is_replaced(database: Database) -> None:
    async def read_drop_read() -> object:
        await database.loop_reader.first(HEAD_ROW, {"id": 1})
        (connections,) = database.loop_reader._loops.values()
        backend = connections.all[0].info.backend_pid
        with database.engine.begin() as admin:  # as when PostgreSQL restarts
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        return await database.loop_reader.first(HEAD_ROW, {"id": 1})

    assert asyncio.run(read_drop_read()) == {"seq": 0, "entry_hash": "0" * 64}
