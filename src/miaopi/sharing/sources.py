"""Where shared data lives, and how it answers the two kinds of read.

* ``ParquetSource``: a department's Parquet file. For one subject it answers from an in-memory index
  built once (key → row range over the key-sorted table, columns materialised on first use), because
  an instant decision cannot wait on a query engine; for a population it hands DuckDB the file.
* ``SqlSource``: a table in a department database reached through SQLAlchemy (PostgreSQL, …).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, MetaData, Table, create_engine, func, select

from miaopi.sharing.catalogue import Resource

ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}

Record = dict[str, Any]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Source(Protocol):
    resource: Resource

    def records(self, key: str, fields: Sequence[str]) -> list[Record]:
        """The subject's records (at most one for a one-record resource), only the given fields."""

    def population(self, fields: Sequence[str]) -> pa.Table:
        """The whole resource as an Arrow table, only the given fields."""

    def row_count(self) -> int:
        """How many records the resource holds."""

    def register(self, connection: duckdb.DuckDBPyConnection, name: str, fields: Sequence[str]) -> None:
        """Make the projection of the resource onto ``fields`` queryable in DuckDB as ``name``."""


class ParquetSource:
    def __init__(self, resource: Resource) -> None:
        if resource.path is None:
            raise ValueError(f"资源“{resource.code}”没有 Parquet 路径")
        self.resource = resource
        self.path = resource.path
        self._lock = threading.Lock()
        self._table: pa.Table | None = None
        self._ranges: dict[str, tuple[int, int]] = {}
        self._columns: dict[str, list[Any]] = {}

    def _load(self) -> pa.Table:
        with self._lock:
            if self._table is None:
                table = pq.read_table(self.path)
                key_column = table.column(self.resource.key)
                order = pa.compute.sort_indices(key_column)
                if not _is_identity(order):
                    table = table.take(order)
                    key_column = table.column(self.resource.key)
                keys = key_column.to_numpy(zero_copy_only=False)
                self._ranges = _key_ranges(keys)
                self._table = table
            return self._table

    def warm(self, fields: Sequence[str] = ()) -> None:
        """Build the index (and materialise the given columns) ahead of the first request."""
        table = self._load()
        for name in fields:
            self._column(table, name)

    def _column(self, table: pa.Table, name: str) -> list[Any]:
        column = self._columns.get(name)
        if column is None:
            with self._lock:
                column = self._columns.get(name)
                if column is None:
                    column = table.column(name).to_pylist()
                    self._columns[name] = column
        return column

    def records(self, key: str, fields: Sequence[str]) -> list[Record]:
        table = self._table if self._table is not None else self._load()
        span = self._ranges.get(key)
        if span is None:
            return []
        columns = [(name, self._column(table, name)) for name in fields]
        return [{name: column[row] for name, column in columns} for row in range(span[0], span[1])]

    def register(self, connection: duckdb.DuckDBPyConnection, name: str, fields: Sequence[str]) -> None:
        # A view over the file: DuckDB streams it, so a province-sized resource never sits in memory.
        projection = ", ".join(quote_identifier(field) for field in fields)
        connection.execute(
            f"CREATE OR REPLACE VIEW {quote_identifier(name)} AS "
            f"SELECT {projection} FROM read_parquet({quote_literal(str(self.path))})"
        )

    def population(self, fields: Sequence[str]) -> pa.Table:
        return pq.read_table(self.path, columns=list(fields))

    def row_count(self) -> int:
        return int(pq.ParquetFile(self.path).metadata.num_rows)


def _is_identity(order: pa.Array) -> bool:
    indices = order.to_numpy()
    return bool(np.array_equal(indices, np.arange(len(indices))))


def _key_ranges(keys: np.ndarray) -> dict[str, tuple[int, int]]:
    """Row ranges of each key in a key-sorted column."""
    if len(keys) == 0:
        return {}
    boundaries = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    stops = np.concatenate((boundaries, [len(keys)]))
    return {
        str(key): (int(start), int(stop))
        for key, start, stop in zip(keys[starts], starts, stops, strict=True)
        if key is not None
    }


class SqlSource:
    def __init__(self, resource: Resource, engine: Engine | None = None) -> None:
        if resource.sql is None:
            raise ValueError(f"资源“{resource.code}”没有 SQL 位置")
        self.resource = resource
        url = resource.sql.url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.engine = engine or create_engine(url, pool_pre_ping=True)
        self._table: Table | None = None

    def _sql_table(self) -> Table:
        if self._table is None:
            assert self.resource.sql is not None
            schema, _, name = self.resource.sql.table.rpartition(".")
            self._table = Table(name, MetaData(), schema=schema or None, autoload_with=self.engine)
        return self._table

    def records(self, key: str, fields: Sequence[str]) -> list[Record]:
        table = self._sql_table()
        query = select(*(table.c[name] for name in fields)).where(table.c[self.resource.key] == key)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def population(self, fields: Sequence[str]) -> pa.Table:
        table = self._sql_table()
        query = select(*(table.c[name] for name in fields))
        with self.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        return pa.Table.from_pylist(rows, schema=arrow_schema(self.resource, fields))

    def row_count(self) -> int:
        table = self._sql_table()
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def register(self, connection: duckdb.DuckDBPyConnection, name: str, fields: Sequence[str]) -> None:
        connection.register(name, self.population(fields))


def arrow_schema(resource: Resource, fields: Sequence[str]) -> pa.Schema:
    by_name = {field.name: field for field in resource.fields}
    return pa.schema([(name, ARROW_TYPES[by_name[name].type]) for name in fields])


def open_source(resource: Resource) -> Source:
    if resource.sql is not None:
        return SqlSource(resource)
    return ParquetSource(resource)
