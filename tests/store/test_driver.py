"""``driver.execute`` and ``driver.run``: a constant statement run on a driver connection — the same
rows, values and errors as ``session.execute``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from miaopi.store import Database
from miaopi.store.driver import compiled, execute, run

METADATA = MetaData()
TALLY = Table(
    "driver_tally",
    METADATA,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True)),
)
AT = dt.datetime(2026, 12, 7, 9, 30, 15, 250000, tzinfo=dt.UTC)

ADD = insert(TALLY).values(name=bindparam("name"), value=bindparam("value"), changed_at=bindparam("at"))
BUMP = (
    update(TALLY)
    .where(TALLY.c.name == bindparam("key"))
    .values(value=TALLY.c.value + bindparam("by", type_=Integer), changed_at=bindparam("at"))
    .returning(TALLY.c.name, TALLY.c.value)
)
# the constant in the WHERE clause is carried by the statement, not passed
RESET_FIRST = update(TALLY).where(TALLY.c.name == "first").values(value=0)


@pytest.fixture
def tallies(database: Database) -> Database:
    METADATA.create_all(database.engine)
    return database


def test_returning_rows_bound_values_and_constants_as_session_execute_gives_them(tallies: Database) -> None:
    with tallies.session() as session:
        assert execute(session, ADD, {"name": "first", "value": 1, "at": AT}) == []
        assert execute(session, ADD, {"name": "second", "value": 5, "at": AT}) == []
        assert execute(session, BUMP, {"key": "first", "by": 2, "at": AT}) == [("first", 3)]
        assert execute(session, BUMP, {"key": "nobody", "by": 2, "at": AT}) == []
    with tallies.session() as session:
        # the DateTime went through its type's bind processor: SQLAlchemy reads back what it stored
        stored = session.execute(select(TALLY).order_by(TALLY.c.name)).all()
    assert [(name, value) for name, value, _ in stored] == [("first", 3), ("second", 5)]
    assert {changed.replace(tzinfo=changed.tzinfo or dt.UTC) for _, _, changed in stored} == {AT}
    with tallies.session() as session:
        execute(session, RESET_FIRST, {})
        assert session.scalar(select(TALLY.c.value).where(TALLY.c.name == "first")) == 0
        assert session.scalar(select(TALLY.c.value).where(TALLY.c.name == "second")) == 5


def test_a_failed_statement_raises_sqlalchemys_error_without_the_bound_values_and_rolls_back(
    tallies: Database,
) -> None:
    with pytest.raises(IntegrityError) as raised, tallies.session() as session:
        execute(session, ADD, {"name": "first", "value": 1, "at": AT})
        execute(session, ADD, {"name": "first", "value": 987654321, "at": AT})
    assert "INSERT INTO driver_tally" in str(raised.value)
    assert "987654321" not in str(raised.value)
    assert "parameters" not in str(raised.value)
    with tallies.session() as session:
        assert session.scalar(select(TALLY.c.value)) is None  # the first insert went with the transaction


def test_returned_values_come_back_as_sqlalchemy_gives_them(tallies: Database) -> None:
    stamp = update(TALLY).values(value=1).returning(TALLY.c.name, TALLY.c.changed_at)
    named = select(TALLY.c.changed_at, TALLY.c.value).where(TALLY.c.name == bindparam("name"))
    with tallies.session() as session:
        execute(session, ADD, {"name": "first", "value": 1, "at": AT})
        ((name, changed),) = execute(session, stamp, {})  # SQLite stores text: it comes back a datetime
        driver = session.connection().connection.driver_connection
        dialect = session.get_bind().dialect
        assert (
            run(driver, dialect, named, {"name": "first"}) == session.execute(named, {"name": "first"}).all()
        )
        assert compiled(dialect, named).columns == ("changed_at", "value")
        whole = select(TALLY).where(TALLY.c.name == bindparam("name"))  # a table counts as its columns
        assert (
            run(driver, dialect, whole, {"name": "first"}) == session.execute(whole, {"name": "first"}).all()
        )
        assert compiled(dialect, whole).columns == ("name", "value", "changed_at")
    assert name == "first"
    assert changed.replace(tzinfo=changed.tzinfo or dt.UTC) == AT


def test_only_select_insert_update_and_delete(tallies: Database) -> None:
    with pytest.raises(TypeError, match="TextClause"):
        compiled(tallies.engine.dialect, text("SELECT 1"))
