"""``INSERT … ON CONFLICT`` on SQLite and PostgreSQL alike (:func:`insert_for`), and with it
``insert_new``: insert the rows whose unique key is not taken yet and learn which they were (no
read first, so two concurrent writers cannot both believe they inserted).

The statement is compiled once per table and key, and the rows are sent with SQLAlchemy's
"insertmanyvalues" batching: hundreds of rows cost a few round trips, not hundreds.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(dialect: str) -> Any:
    """The ``insert`` construct with ``on_conflict_…`` of the backend named ``dialect``."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def dialect_insert(session: Session) -> Any:
    """:func:`insert_for` the session's backend."""
    return insert_for(session.get_bind().dialect.name)


@cache
def _statement(
    dialect: str, table: Table, keys: tuple[str, ...], returning: tuple[ColumnElement[Any], ...]
) -> Any:
    return insert_for(dialect)(table).on_conflict_do_nothing(index_elements=list(keys)).returning(*returning)


def insert_new(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    returning: Sequence[ColumnElement[Any]],
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (skipping any whose ``keys`` are already stored) and return ``returning`` of
    the rows actually inserted."""
    if not rows:
        return []
    statement = _statement(session.get_bind().dialect.name, table, tuple(keys), tuple(returning))
    return [tuple(row) for row in session.execute(statement, list(rows))]
