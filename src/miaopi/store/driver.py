"""Statements sent straight to the driver.

The group-commit writer runs the same few statements in every commit, while the database's write
lock is held: the access counts' upsert, the licence counters', the audit chain head's two. Through
``session.execute`` each cost 50–70 µs of SQLAlchemy's machinery (its compiled cache, an execution
context, a result object) for a few µs in SQLite: on a commit of one case, an eighth of the writer's
time. :func:`execute` compiles a constant statement once per dialect and runs it on the session's
own DBAPI connection: the same SQL in the same transaction, each value converted by its column
type's bind processor (and each value returned by its result processor), SQLAlchemy's exceptions
raised (``IntegrityError`` for a broken constraint), and never the bound values in an error message
(they may be ID numbers). The event loop's reads of SQLite (``loop_reader``) run the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True, eq=False)
class Compiled:
    """A statement compiled for one dialect, with what converts its values both ways."""

    sql: str
    compiled: Any  # SQLAlchemy's compiled form: fills in the values the statement carries itself
    positions: tuple[str, ...] | None  # the parameters' order for a positional paramstyle (SQLite's ?)
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # (parameter, bind processor)
    columns: tuple[str, ...]  # the names of the columns it returns
    results: tuple[Callable[[Any], Any] | None, ...]  # each returned column's result processor

    def bind(self, parameters: Mapping[str, Any]) -> Any:
        """``parameters`` as the driver takes them, with the values the statement carries."""
        values = self.compiled.construct_params(dict(parameters))
        for name, process in self.processors:
            values[name] = process(values[name])
        return values if self.positions is None else [values[name] for name in self.positions]

    def row(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """A row the driver returned, each value as SQLAlchemy would give it (a datetime, not text)."""
        return tuple(
            value if process is None else process(value)
            for value, process in zip(values, self.results, strict=True)
        )


_compiled: dict[tuple[str, Executable], Compiled] = {}


def compiled(dialect: Dialect, statement: Executable) -> Compiled:
    """``statement`` — built once: a module constant, or cached — compiled for ``dialect``, once."""
    key = (dialect.name, statement)
    found = _compiled.get(key)
    if found is not None:
        return found
    if isinstance(statement, UpdateBase):
        returned = [(column["name"], column["type"]) for column in statement.returning_column_descriptions]
    elif isinstance(statement, Select):  # a whole table selected counts as its columns
        returned = [(column.key, column.type) for column in statement.selected_columns]
    else:
        raise TypeError(f"not a SELECT, INSERT, UPDATE or DELETE: {type(statement).__name__}")
    form = statement.compile(dialect=dialect)
    processors = []
    for bind, name in form.bind_names.items():
        process = bind.type._cached_bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    found = _compiled[key] = Compiled(
        sql=form.string,
        compiled=form,
        positions=tuple(form.positiontup) if form.positional and form.positiontup else None,
        processors=tuple(processors),
        columns=tuple(name for name, _type in returned),
        results=tuple(type_._cached_result_processor(dialect, None) for _name, type_ in returned),
    )
    return found


def execute(session: Session, statement: UpdateBase, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``statement`` (an INSERT, UPDATE or DELETE built once) with ``parameters`` in the
    session's transaction; the rows it returns (``RETURNING``)."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    return run(driver, connection.dialect, statement, parameters)


def run(
    driver: Any, dialect: Dialect, statement: Executable, parameters: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Run ``statement`` with ``parameters`` on a DBAPI connection (``driver``); the rows it returns."""
    form = compiled(dialect, statement)
    cursor = driver.cursor()
    try:
        with driver_errors(dialect, form.sql):
            cursor.execute(form.sql, form.bind(parameters))
            return [form.row(values) for values in cursor.fetchall()] if cursor.description else []
    finally:
        cursor.close()


@contextmanager
def driver_errors(dialect: Dialect, sql: str) -> Iterator[None]:
    """The driver's exceptions as SQLAlchemy's (``IntegrityError`` …), without the bound values."""
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
        ) from None
