"""Statements sent straight to the driver, in a session's transaction.

The group-commit writer runs the same few statements in every commit, while the database's write
lock is held: the access counts' upsert, the licence counters', the audit chain head's two. Through
``session.execute`` each cost 50–70 µs of SQLAlchemy's machinery (its compiled cache, an execution
context, a result object) for a few µs in SQLite — on a commit of one case, a third of the writer's
time. :func:`execute` compiles a constant statement once per dialect and runs it on the session's
own DBAPI connection: the same SQL in the same transaction, each value converted by its column
type's bind processor, SQLAlchemy's exceptions raised (``IntegrityError`` for a broken constraint),
and never the bound values in an error message (they may be ID numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True, eq=False)
class _Compiled:
    sql: str
    compiled: Any  # SQLAlchemy's compiled form: fills in the values the statement carries itself
    positions: tuple[str, ...] | None  # the parameters' order for a positional paramstyle (SQLite's ?)
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # (parameter, bind processor)

    def bind(self, parameters: Mapping[str, Any]) -> Any:
        values = self.compiled.construct_params(dict(parameters))
        for name, process in self.processors:
            values[name] = process(values[name])
        return values if self.positions is None else [values[name] for name in self.positions]


_compiled: dict[tuple[str, UpdateBase], _Compiled] = {}


def execute(session: Session, statement: UpdateBase, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``statement`` — an INSERT, UPDATE or DELETE built once (a module constant, or cached) —
    with ``parameters`` in the session's transaction; the rows it returns (``RETURNING``), as the
    driver gives them. Only for statements whose returned columns the driver already gives as
    Python wants them (integers, text): the others are refused."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = _compile(dialect, statement)
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        with driver_errors(dialect, compiled.sql):
            cursor.execute(compiled.sql, compiled.bind(parameters))
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def _compile(dialect: Dialect, statement: UpdateBase) -> _Compiled:
    key = (dialect.name, statement)
    found = _compiled.get(key)
    if found is not None:
        return found
    for column in statement.returning_column_descriptions:
        if column["type"]._cached_result_processor(dialect, None) is not None:
            raise ValueError(f"{column['name']}: the driver's value needs converting; use session.execute")
    compiled = statement.compile(dialect=dialect)
    processors = []
    for bind, name in compiled.bind_names.items():
        process = bind.type._cached_bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    found = _compiled[key] = _Compiled(compiled.string, compiled, positions, tuple(processors))
    return found


@contextmanager
def driver_errors(dialect: Dialect, sql: str) -> Iterator[None]:
    """The driver's exceptions as SQLAlchemy's (``IntegrityError`` …), without the bound values."""
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
        ) from None
