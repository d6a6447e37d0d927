"""Spark SQL output: parses with sqlglot's Spark dialect and uses no DuckDB-only syntax or functions.

PySpark is not installed here; running the SQL on a real Spark is a later step.
"""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from miaopi.rules import FactType, compile_aggregate, compile_expression
from tests.rules.test_aggregates import CONTEXT, FIELDS, PARTS
from tests.rules.test_expressions import CASES
from tests.rules.test_expressions import FACTS as EXPRESSION_FACTS

DUCKDB_ONLY = re.compile(
    r"\b(STRFTIME|STRPTIME|DATE_DIFF|DATE_PART|EPOCH|LIST_\w+|TRY_CAST|TRY|REGEXP_MATCHES|GETVARIABLE|"
    r"READ_\w+|HUGEINT|INTERVAL)\b|::|\"",
    re.IGNORECASE,
)


def _assert_spark(sql: str) -> None:
    assert not DUCKDB_ONLY.search(sql), sql
    tree = sqlglot.parse_one(f"SELECT {sql} FROM t", read="spark")
    assert not list(tree.find_all(exp.Anonymous)) or all(
        a.name.upper() in {"DATE_ADD"} for a in tree.find_all(exp.Anonymous)
    ), sql


@pytest.mark.parametrize("source", sorted({case[0] for case in CASES}))
def test_expression_spark_sql(source: str) -> None:
    _assert_spark(compile_expression(source, EXPRESSION_FACTS).to_sql("spark"))


@pytest.mark.parametrize(("function", "value", "where"), PARTS)
def test_aggregate_spark_sql(function: str, value: str | None, where: str | None) -> None:
    _assert_spark(
        compile_aggregate(function, FIELDS, value=value, where=where, context=CONTEXT).to_sql("spark")
    )


def test_spark_specifics() -> None:
    facts = {
        "d": FactType.DATE,
        "e": FactType.DATE,
        "n": FactType.INTEGER,
        "x": FactType.NUMBER,
        "s": FactType.STRING,
    }
    sql = compile_expression("ADD_DAYS(d, n) < ADD_MONTHS(e, 2)", facts).to_sql("spark")
    assert sql == "DATE_ADD(`d`, CAST(`n` AS INT)) < ADD_MONTHS(`e`, CAST(2 AS INT))"
    assert compile_expression("DAYS_BETWEEN(d, e)", facts).to_sql("spark") == "DATEDIFF(`e`, `d`)"
    assert compile_expression("x / n", facts).to_sql("spark") == "`x` / NULLIF(`n`, 0)"
    assert compile_expression("s = 'it''s'", facts).to_sql("spark") == "`s` = 'it\\'s'"
