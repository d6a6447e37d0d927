"""Shared helpers: run compiled expressions and aggregates in DuckDB and compare with the Python target."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import duckdb

from miaopi.rules import Expression, FactType, sql_type


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Mapping[str, FactType],
    rows: Sequence[Mapping[str, object]],
) -> None:
    names = list(columns)
    definition = ", ".join(f"{quote(n)} {sql_type(columns[n])}" for n in names)
    con.execute(f"CREATE OR REPLACE TABLE {table} (_row BIGINT, {definition})")
    placeholders = ", ".join("?" for _ in range(len(names) + 1))
    if rows:
        con.executemany(
            f"INSERT INTO {table} VALUES ({placeholders})",
            [[i, *(row.get(n) for n in names)] for i, row in enumerate(rows)],
        )


def duckdb_values(
    con: duckdb.DuckDBPyConnection,
    expression: Expression,
    facts: Mapping[str, FactType],
    rows: Sequence[Mapping[str, object]],
) -> list[object]:
    """The expression's to_sql("duckdb") evaluated on each row of a table holding the facts."""
    load_table(con, "facts", facts, rows)
    result = con.execute(f"SELECT {expression.to_sql('duckdb')} FROM facts ORDER BY _row").fetchall()
    return [r[0] for r in result]


def same_value(python: object, sql: object) -> bool:
    if python is None or sql is None:
        return python is None and sql is None
    if isinstance(python, float) or isinstance(sql, float):
        if isinstance(python, bool) or isinstance(sql, bool):
            return False
        return math.isclose(float(python), float(sql), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
    return type(python) is type(sql) and python == sql
