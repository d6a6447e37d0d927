"""``insert_many``: many rows in few statements, stored exactly as SQLAlchemy would store them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from miaopi.approval.pipeline import CHINA
from miaopi.audit.chain import LOG
from miaopi.store import Database
from miaopi.store.bulk import bind_rows, insert_bound, insert_many, statement_sizes

AT = dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC)


def entry(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "recorded_at": AT + dt.timedelta(seconds=seq),
        "actor": f"applicant:{seq}",
        "action": "application.decided",
        "target": f"MP{seq:010d}",
        "outcome": "approved",
        "details": '{"说明": "准予许可"}',
        "prev_hash": "0" * 64,
        "entry_hash": f"{seq:064d}",
    }


def stored(database: Database, seqs: range) -> list[tuple[Any, ...]]:
    with database.session() as session:
        return [
            tuple(row) for row in session.execute(select(LOG).where(LOG.c.seq.in_(seqs)).order_by(LOG.c.seq))
        ]


def test_rows_beyond_one_statement_are_split_and_stored_as_sqlalchemy_stores_them(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite: four rows of nine columns per statement (PostgreSQL: one COPY)
    monkeypatch.setattr("miaopi.store.bulk.MAX_PARAMETERS", 40)
    with database.session() as session:
        insert_many(session, LOG, [entry(seq) for seq in range(1, 12)])  # 4 + 4 + 2 + 1 rows
        # the same rows under other keys, through SQLAlchemy's own insert
        session.execute(insert(LOG), [{**entry(seq), "seq": seq + 100} for seq in range(1, 12)])
    ours, theirs = stored(database, range(1, 12)), stored(database, range(101, 112))
    assert [row[0] for row in ours] == list(range(1, 12))
    assert [row[1:] for row in ours] == [row[1:] for row in theirs]


def test_a_repeated_key_in_any_statement_fails_the_whole_insert(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("miaopi.store.bulk.MAX_PARAMETERS", 40)
    rows = [entry(seq) for seq in range(1, 10)] + [entry(3)]  # the repeat is in the last statement
    with pytest.raises(IntegrityError), database.session() as session:
        insert_many(session, LOG, rows)
    assert stored(database, range(1, 10)) == []  # rolled back: nothing half-stored


def test_awkward_values_are_stored_as_sqlalchemy_stores_them(database: Database) -> None:
    """Tabs, newlines, backslashes, ``\\N`` (COPY's own null marker), quotes, Chinese text, nulls,
    JSON, bytes, booleans and times with their zone survive the trip as they do through SQLAlchemy."""
    table = Table(
        "bulk_awkward",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(64)),
        Column("note", Text, nullable=True),
        Column("data", JSON, nullable=True),
        Column("blob", LargeBinary, nullable=True),
        Column("flag", Boolean),
        Column("at", DateTime(timezone=True)),
    )
    table.create(database.engine)
    awkward = [
        {
            "name": "张三\tTab\nnewline\\backslash",
            "note": "\\N",
            "data": {"说明": "准予许可", "quote": "\"'", "list": [1, None, "\\N"], "day": "2026-11-23"},
            "blob": b"\x00\x01\\\t\n\xff",
            "flag": True,
            "at": AT,
        },
        {"name": "", "note": None, "data": None, "blob": None, "flag": False, "at": AT},
        {"name": "x", "note": "", "data": [], "blob": b"", "flag": True, "at": AT.astimezone(CHINA)},
    ]
    with database.session() as session:
        insert_many(session, table, awkward)
        session.execute(insert(table), awkward)
    with database.session() as session:
        rows = [tuple(row)[1:] for row in session.execute(select(table).order_by(table.c.id))]
    assert rows[:3] == rows[3:]
    assert rows[0][0] == awkward[0]["name"] and rows[0][1] == "\\N" and rows[1][1] is None
    assert rows[0][2] == awkward[0]["data"] and bytes(rows[0][3]) == awkward[0]["blob"]


def test_rows_already_stored_are_skipped_only_when_asked(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("miaopi.store.bulk.MAX_PARAMETERS", 40)  # SQLite: several statements
    with database.session() as session:
        insert_many(session, LOG, [entry(seq) for seq in (2, 5)])
    changed = {**entry(5), "actor": "someone else"}  # a key stored before: the stored row stays
    with database.session() as session:
        rows = [entry(1), entry(2), entry(3), {**entry(3), "actor": "a repeat"}, entry(4), changed]
        insert_many(session, LOG, rows, skip_existing=True)  # stored before, or earlier in the rows
    actors = [row[2] for row in stored(database, range(1, 6))]
    assert actors == [f"applicant:{seq}" for seq in range(1, 6)]
    with pytest.raises(IntegrityError), database.session() as session:
        insert_many(session, LOG, [entry(6), entry(5)])  # without it, a stored key fails the insert
    assert stored(database, range(6, 7)) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite traces its statements
def test_bound_rows_of_one_table_go_in_one_statement(database: Database) -> None:
    """The group commit binds each case's rows before it takes the write lock, then sends all
    cases' rows of a table at once (four rows: one statement; three would take two, 2 + 1)."""
    dialect = database.engine.dialect
    first, second = (
        bind_rows(dialect, LOG, [entry(1), entry(2)]),
        bind_rows(dialect, LOG, [entry(3), entry(4)]),
    )
    statements: list[str] = []
    with database.session() as session:
        driver = session.connection().connection.driver_connection
        driver.set_trace_callback(statements.append)  # type: ignore[union-attr]
        insert_bound(session, [first, second])
        driver.set_trace_callback(None)  # type: ignore[union-attr]
    inserts = [statement for statement in statements if statement.startswith("INSERT")]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT INTO audit_log")
    assert [row[0] for row in stored(database, range(1, 5))] == [1, 2, 3, 4]
    assert len(first.parameters) == 2  # the caller's bound rows are left as they were


@pytest.mark.parametrize(
    ("rows", "most", "sizes"),
    [(0, 100, []), (1, 100, [1]), (161, 3555, [128, 32, 1]), (161, 100, [64, 64, 32, 1]), (7, 1, [1] * 7)],
)
def test_statements_carry_powers_of_two_rows_so_the_driver_keeps_them(
    rows: int, most: int, sizes: list[int]
) -> None:
    """A table needs few statement texts, whatever a group commit's rows, so each is parsed once."""
    assert statement_sizes(rows, most) == sizes
    distinct = {size for count in range(1, 1000) for size in statement_sizes(count, 3555)}
    assert distinct == {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}
