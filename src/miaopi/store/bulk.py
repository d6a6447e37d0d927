"""Many rows into one table, at the driver's speed.

A stored decision is some twenty rows in six tables, and the group-commit writer stores hundreds of
decisions a second. SQLAlchemy's ``session.execute(insert(table), rows)`` spends most of its time
per row and per parameter in its statement machinery, not in the database. ``insert_many`` sends the
rows straight to the driver — on PostgreSQL as a COPY, elsewhere as multi-row INSERTs — converting
each value with the column type's own bind processor, so what is stored is exactly what SQLAlchemy
would have stored, and raises SQLAlchemy's exceptions (``IntegrityError`` for a repeated key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from miaopi.store.driver import driver_errors


@dataclass(frozen=True, eq=False)  # compared (and hashed) by identity: one per table and columns
class InsertSql:
    """What inserting rows into one table's columns takes, text only — bound rows travel to a
    writer process (``approval.writer_process``) and find the same object there (``interned``)."""

    sql: str  # INSERT … VALUES (?, ?, …): one row
    row_sql: str  # one row's placeholders: (?, ?, …), for several rows in one statement
    copy_sql: str  # PostgreSQL: COPY … FROM STDIN into the same columns
    primary_key: str  # the primary key's columns, for ON CONFLICT

    def sql_for(self, count: int) -> str:
        """The statement inserting ``count`` rows at once."""
        return self.sql if count == 1 else f"{self.sql}, {', '.join([self.row_sql] * (count - 1))}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (interned, (self.sql, self.row_sql, self.copy_sql, self.primary_key))


_inserts: dict[tuple[str, str, str, str], InsertSql] = {}


def interned(sql: str, row_sql: str, copy_sql: str, primary_key: str) -> InsertSql:
    """The one :class:`InsertSql` of this process with these texts, so rows of many cases that
    arrive apart still go into one statement."""
    key = (sql, row_sql, copy_sql, primary_key)
    found = _inserts.get(key)
    if found is None:
        found = _inserts[key] = InsertSql(*key)
    return found


@dataclass(frozen=True, eq=False)
class _Statement:
    insert: InsertSql
    values: Callable[[Mapping[str, Any]], Any]  # a row's values in column order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)
    defaults: list[Any]  # values of the columns left out of the rows that have a Python default


MAX_PARAMETERS = 32_000  # under SQLite's 32,766 bind parameters per statement
_statements: dict[tuple[str, str, tuple[str, ...]], _Statement] = {}


def _statement(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Statement:
    cache_key = (dialect.name, table.fullname, keys)
    statement = _statements.get(cache_key)
    if statement is not None:
        return statement
    defaults = []
    for column in table.columns:
        if column.key in keys or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.key} has a computed default: pass its value")
        defaults.append((column.key, column.default.arg))  # type: ignore[attr-defined]
    names = keys + tuple(key for key, _ in defaults)
    preparer = dialect.identifier_preparer
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)}) "
        f"VALUES ({', '.join(marker for _ in names)})"
    )
    row_sql = f"({', '.join(marker for _ in names)})"
    copy_sql = f"COPY {preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)}) FROM STDIN"
    processors = (
        (position, table.c[name].type._cached_bind_processor(dialect)) for position, name in enumerate(names)
    )
    primary_key = ", ".join(preparer.quote(column.name) for column in table.primary_key.columns)
    statement = _Statement(
        insert=interned(sql, row_sql, copy_sql, primary_key),
        values=itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],),
        processors=tuple((position, process) for position, process in processors if process is not None),
        defaults=[value for _, value in defaults],
    )
    _statements[cache_key] = statement
    return statement


@dataclass(frozen=True)
class BoundRows:
    """Rows of one table converted for the driver, ready to insert (see :func:`bind_rows`); they
    pickle, for a writer in another process."""

    table: str
    insert: InsertSql
    parameters: list[list[Any]]
    skip_existing: bool = False


def bind_rows(
    dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]], *, skip_existing: bool = False
) -> BoundRows:
    """Convert ``rows`` (at least one, all with the same keys) for the driver with each column
    type's own bind processor — the Python half of an insert, which needs no connection: the
    group-commit writer does it before taking the database's write lock. See :func:`insert_many`."""
    statement = _statement(dialect, table, tuple(rows[0]))
    values, processors, defaults = statement.values, statement.processors, statement.defaults
    parameters = []
    for row in rows:
        parameter = [*values(row), *defaults]
        for position, process in processors:
            parameter[position] = process(parameter[position])
        parameters.append(parameter)
    # The table's name as a plain str: SQLAlchemy's own str subclass pickles slowly.
    return BoundRows(str(table.fullname), statement.insert, parameters, skip_existing)


def insert_many(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, skip_existing: bool = False
) -> None:
    """Insert ``rows`` (all with the same keys) in the session's transaction. With ``skip_existing``,
    a row whose primary key is stored already, or came earlier in ``rows``, is left out (``ON
    CONFLICT DO NOTHING``)."""
    if rows:
        insert_bound(
            session, [bind_rows(session.get_bind().dialect, table, rows, skip_existing=skip_existing)]
        )


def insert_bound(session: Session, bound: Sequence[BoundRows]) -> None:
    """Insert bound rows in the session's transaction: the rows of one table and statement together
    (one COPY, or as few INSERTs as SQLite's parameter limit allows), tables in the order they first
    appear in ``bound``."""
    grouped: dict[str, dict[InsertSql, BoundRows]] = {}
    for rows in bound:
        by_statement = grouped.setdefault(rows.table, {})
        if rows.insert in by_statement:
            by_statement[rows.insert].parameters.extend(rows.parameters)
        else:  # a copy: the caller's lists stay as they were
            by_statement[rows.insert] = BoundRows(
                rows.table, rows.insert, list(rows.parameters), rows.skip_existing
            )
    if not grouped:
        return
    connection = session.connection()
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        for by_statement in grouped.values():
            for group in by_statement.values():
                with driver_errors(dialect, group.insert.sql):
                    _send(cursor, dialect, group)
    finally:
        cursor.close()


def _send(cursor: Any, dialect: Dialect, rows: BoundRows) -> None:
    insert, parameters = rows.insert, rows.parameters
    if dialect.name == "postgresql" and not rows.skip_existing:
        # COPY: psycopg formats the rows in C and streams them in one go. Its pipelined
        # executemany spent some 30 µs of Python per row on each statement's messages.
        with cursor.copy(insert.copy_sql) as copy:
            for parameter in parameters:
                copy.write_row(parameter)
        return
    # Several rows per statement: the sqlite3 module lets go of the GIL (and must take it back)
    # around every statement it steps, so one statement per row would hand the GIL to the event
    # loop thread and wait for it again hundreds of times per batch. (COPY cannot skip existing
    # rows: PostgreSQL takes the same statement then.)
    conflict = f" ON CONFLICT ({insert.primary_key}) DO NOTHING" if rows.skip_existing else ""
    start = 0
    for count in statement_sizes(len(parameters), MAX_PARAMETERS // len(parameters[0])):
        part = parameters[start : start + count]
        cursor.execute(insert.sql_for(count) + conflict, [value for row in part for value in row])
        start += count


def statement_sizes(rows: int, most: int) -> list[int]:
    """How many rows each statement carries, ``rows`` in all and at most ``most`` in one: powers of
    two, the largest first (161 rows: 128 + 32 + 1).

    The driver keeps the statements it prepared (SQLite: the last 128 by their text), and parsing an
    INSERT of many rows costs more than running it — 160 rows of twelve columns: 800–940 µs of CPU
    parsed afresh, 350 µs prepared before. A group commit's rows per table vary from one commit to
    the next, so one statement of exactly that many rows was almost always new; in powers of two a
    table needs at most nine statements' texts, all of them kept."""
    largest = 1 << (max(1, most).bit_length() - 1)
    sizes = [largest] * (rows // largest)
    rest = rows % largest
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes
