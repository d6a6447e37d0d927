"""Reads from the event loop: the first row or None, from any number of event loops one after the
other, many at once on few connections, and again after PostgreSQL dropped the connection."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import bindparam, select, text

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
