"""Unit tests: the value and type of each construct, on the Python target and in DuckDB."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from miaopi.rules import EvaluationError, ExpressionError, FactType, compile_expression
from tests.rules.helpers import duckdb_values, same_value

F = FactType
FACTS: dict[str, FactType] = {
    "person.age": F.INTEGER,
    "person.hukou_city": F.STRING,
    "person.birth_date": F.DATE,
    "person.disabled": F.BOOLEAN,
    "enterprise.size_class": F.STRING,
    "enterprise.ui_paid_last_year": F.NUMBER,
    "decision_date": F.DATE,
    "x": F.NUMBER,
    "y": F.NUMBER,
    "i": F.INTEGER,
    "j": F.INTEGER,
    "s": F.STRING,
    "d": F.DATE,
    "e": F.DATE,
    "b": F.BOOLEAN,
    "c": F.BOOLEAN,
}
D = dt.date

# (source, values, expected value, expected type)
CASES: list[tuple[str, dict[str, object], object, FactType]] = [
    (
        "person.age >= 65 AND person.hukou_city = '310000'",
        {"person.age": 70, "person.hukou_city": "310000"},
        True,
        F.BOOLEAN,
    ),
    (
        "person.age >= 65 AND person.hukou_city = '310000'",
        {"person.age": 60, "person.hukou_city": "310000"},
        False,
        F.BOOLEAN,
    ),
    ("person.age >= 65 AND person.hukou_city = '310000'", {"person.hukou_city": "310000"}, None, F.BOOLEAN),
    ("person.age >= 65 AND person.hukou_city = '310000'", {"person.hukou_city": "110000"}, False, F.BOOLEAN),
    ("person.age >= 65 OR person.disabled", {"person.disabled": True}, True, F.BOOLEAN),
    ("person.age >= 65 OR person.disabled", {"person.disabled": False}, None, F.BOOLEAN),
    ("person.age >= 65 OR person.disabled", {"person.age": 1, "person.disabled": False}, False, F.BOOLEAN),
    ("b AND c", {"b": True, "c": True}, True, F.BOOLEAN),
    ("b AND c", {"b": False}, False, F.BOOLEAN),
    ("b AND c", {"c": True}, None, F.BOOLEAN),
    ("b OR c", {}, None, F.BOOLEAN),
    ("b OR c", {"b": False, "c": False}, False, F.BOOLEAN),
    ("NOT b", {"b": False}, True, F.BOOLEAN),
    ("NOT b", {}, None, F.BOOLEAN),
    ("TRUE AND NULL", {}, None, F.BOOLEAN),
    ("FALSE AND NULL", {}, False, F.BOOLEAN),
    ("TRUE OR NULL", {}, True, F.BOOLEAN),
    (
        "CASE WHEN enterprise.size_class = '大' THEN 0.3 ELSE 0.6 END * enterprise.ui_paid_last_year",
        {"enterprise.size_class": "大", "enterprise.ui_paid_last_year": 1000},
        300.0,
        F.NUMBER,
    ),
    (
        "CASE WHEN enterprise.size_class = '大' THEN 0.3 ELSE 0.6 END * enterprise.ui_paid_last_year",
        {"enterprise.ui_paid_last_year": Decimal("1000")},
        600.0,
        F.NUMBER,
    ),
    ("CASE WHEN b THEN 1 WHEN c THEN 2 END", {"c": True}, 2, F.INTEGER),
    ("CASE WHEN b THEN 1 WHEN c THEN 2 END", {}, None, F.INTEGER),
    ("CASE WHEN b THEN 1 ELSE 2.5 END", {"b": True}, 1.0, F.NUMBER),
    ("IF(b, 'yes', 'no')", {"b": None}, "no", F.STRING),
    ("i + j * 2 - 1", {"i": 1, "j": 3}, 6, F.INTEGER),
    ("i / j", {"i": 7, "j": 2}, 3.5, F.NUMBER),
    ("i / j", {"i": 7, "j": 0}, None, F.NUMBER),
    ("x / 0", {"x": 7.0}, None, F.NUMBER),
    ("i % j", {"i": -7, "j": 3}, -1, F.INTEGER),
    ("i % j", {"i": 7, "j": -3}, 1, F.INTEGER),
    ("i % j", {"i": 7, "j": 0}, None, F.INTEGER),
    ("x % y", {"x": -7.5, "y": 2.0}, -1.5, F.NUMBER),
    ("MOD(i, 4)", {"i": 10}, 2, F.INTEGER),
    ("-i", {"i": 5}, -5, F.INTEGER),
    ("-(x)", {"x": 2.5}, -2.5, F.NUMBER),
    ("i + NULL", {"i": 5}, None, F.INTEGER),
    ("i IS NULL", {}, True, F.BOOLEAN),
    ("i IS NOT NULL", {}, False, F.BOOLEAN),
    ("i IN (1, 2, 3)", {"i": 2}, True, F.BOOLEAN),
    ("i IN (1, 2, 3)", {"i": 4}, False, F.BOOLEAN),
    ("i IN (1, NULL)", {"i": 4}, None, F.BOOLEAN),
    ("i IN (1, NULL)", {"i": 1}, True, F.BOOLEAN),
    ("i NOT IN (1, 2)", {"i": 4}, True, F.BOOLEAN),
    ("i IN (j, 3)", {"i": 4, "j": 4}, True, F.BOOLEAN),
    ("x IN (1, 2.5)", {"x": 1.0}, True, F.BOOLEAN),
    ("i BETWEEN 1 AND 10", {"i": 10}, True, F.BOOLEAN),
    ("i NOT BETWEEN 1 AND 10", {"i": 11}, True, F.BOOLEAN),
    ("i BETWEEN j AND 10", {"i": 11}, False, F.BOOLEAN),
    ("i BETWEEN j AND 10", {"i": 5}, None, F.BOOLEAN),
    ("s LIKE '31%'", {"s": "310000"}, True, F.BOOLEAN),
    ("s LIKE '3_0'", {"s": "310"}, True, F.BOOLEAN),
    ("s LIKE 'a.c'", {"s": "abc"}, False, F.BOOLEAN),
    ("s NOT LIKE '%大%'", {"s": "秒批大厅"}, False, F.BOOLEAN),
    ("COALESCE(i, j, 0)", {"j": 4}, 4, F.INTEGER),
    ("COALESCE(i, 0.5)", {"i": 4}, 4.0, F.NUMBER),
    ("LEAST(x, 100)", {"x": 150.0}, 100.0, F.NUMBER),
    ("LEAST(x, 100)", {}, None, F.NUMBER),
    ("GREATEST(i, j, 3)", {"i": 1, "j": 2}, 3, F.INTEGER),
    ("GREATEST(s, 'b')", {"s": "a"}, "b", F.STRING),
    ("LEAST(d, e)", {"d": D(2024, 1, 2), "e": D(2023, 5, 1)}, D(2023, 5, 1), F.DATE),
    ("ABS(i)", {"i": -3}, 3, F.INTEGER),
    ("ROUND(x)", {"x": 2.5}, 3.0, F.NUMBER),
    ("ROUND(x)", {"x": -2.5}, -3.0, F.NUMBER),
    ("ROUND(x)", {"x": 0.49999999999999994}, 0.0, F.NUMBER),
    ("ROUND(x, 2)", {"x": 2.675}, 2.68, F.NUMBER),
    ("ROUND(x, 2)", {"x": 1.005}, 1.0, F.NUMBER),
    ("ROUND(x, -1)", {"x": 12345.678}, 12350.0, F.NUMBER),
    ("ROUND(i, -1)", {"i": -15}, -20, F.INTEGER),
    ("ROUND(i, 2)", {"i": 7}, 7, F.INTEGER),
    ("FLOOR(x)", {"x": -2.5}, -3.0, F.NUMBER),
    ("CEIL(x)", {"x": 2.1}, 3.0, F.NUMBER),
    ("FLOOR(i)", {"i": 2}, 2, F.INTEGER),
    ("LENGTH(s)", {"s": "秒批"}, 2, F.INTEGER),
    ("SUBSTR(s, 2)", {"s": "hello"}, "ello", F.STRING),
    ("SUBSTR(s, 2, 3)", {"s": "hello"}, "ell", F.STRING),
    ("SUBSTRING(s, 1, 2)", {"s": "310000"}, "31", F.STRING),
    ("UPPER(s) = 'AB'", {"s": "ab"}, True, F.BOOLEAN),
    ("LOWER(s)", {"s": "AbC"}, "abc", F.STRING),
    ("STARTS_WITH(s, '31')", {"s": "310000"}, True, F.BOOLEAN),
    ("'b' > s", {"s": "a"}, True, F.BOOLEAN),
    ("s < '大'", {"s": "z"}, True, F.BOOLEAN),
    ("YEAR(d) * 100 + MONTH(d) + DAY(d)", {"d": D(2024, 2, 29)}, 202431, F.INTEGER),
    ("d > DATE '2024-01-01'", {"d": D(2024, 1, 2)}, True, F.BOOLEAN),
    (
        "YEARS_BETWEEN(person.birth_date, decision_date)",
        {"person.birth_date": D(1959, 5, 2), "decision_date": D(2024, 5, 1)},
        64,
        F.INTEGER,
    ),
    (
        "YEARS_BETWEEN(person.birth_date, decision_date)",
        {"person.birth_date": D(1959, 5, 2), "decision_date": D(2024, 5, 2)},
        65,
        F.INTEGER,
    ),
    ("YEARS_BETWEEN(d, e)", {"d": D(2020, 2, 29), "e": D(2021, 2, 28)}, 0, F.INTEGER),
    ("YEARS_BETWEEN(d, e)", {"d": D(2020, 2, 29), "e": D(2021, 3, 1)}, 1, F.INTEGER),
    ("YEARS_BETWEEN(d, e)", {"d": D(2020, 6, 1), "e": D(2019, 7, 1)}, -1, F.INTEGER),
    ("MONTHS_BETWEEN(d, e)", {"d": D(2024, 1, 31), "e": D(2024, 2, 29)}, 0, F.INTEGER),
    ("MONTHS_BETWEEN(d, e)", {"d": D(2024, 1, 15), "e": D(2025, 2, 15)}, 13, F.INTEGER),
    ("DAYS_BETWEEN(d, e)", {"d": D(2024, 1, 1), "e": D(2024, 3, 1)}, 60, F.INTEGER),
    ("ADD_MONTHS(d, 1)", {"d": D(2024, 1, 31)}, D(2024, 2, 29), F.DATE),
    ("ADD_MONTHS(d, -13)", {"d": D(2024, 3, 31)}, D(2023, 2, 28), F.DATE),
    ("ADD_YEARS(d, 1)", {"d": D(2024, 2, 29)}, D(2025, 2, 28), F.DATE),
    ("ADD_DAYS(d, i)", {"d": D(2024, 2, 28), "i": 2}, D(2024, 3, 1), F.DATE),
    ("ADD_DAYS(d, i)", {"d": D(2024, 2, 28)}, None, F.DATE),
    (
        "decision_date >= ADD_YEARS(person.birth_date, 60)",
        {"decision_date": D(2024, 1, 1), "person.birth_date": D(1964, 1, 1)},
        True,
        F.BOOLEAN,
    ),
    ('"person.age" > 3', {"person.age": 4}, True, F.BOOLEAN),
    ("1e3 = 1000", {}, True, F.BOOLEAN),
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@pytest.mark.parametrize(("source", "values", "expected", "type_"), CASES)
def test_value_and_type(
    con: duckdb.DuckDBPyConnection, source: str, values: dict[str, object], expected: object, type_: FactType
) -> None:
    expression = compile_expression(source, FACTS)
    assert expression.result_type is type_
    python = expression.evaluate(values)
    assert same_value(python, expected), (python, expected)
    (sql,) = duckdb_values(con, expression, FACTS, [values])
    assert same_value(python, sql), (python, sql, expression.to_sql())


def test_facts_read_in_first_use_order() -> None:
    expression = compile_expression("x > 1 AND (person.age > 2 OR x < 5) AND person.hukou_city = 'a'", FACTS)
    assert expression.facts_read == ("x", "person.age", "person.hukou_city")


def test_expect_number_widens_integer() -> None:
    expression = compile_expression("i * 2", FACTS, expect=FactType.NUMBER)
    assert expression.result_type is FactType.NUMBER
    assert expression.evaluate({"i": 2}) == 4.0
    assert isinstance(expression.evaluate({"i": 2}), float)


def test_expect_boolean_rejects_amount() -> None:
    with pytest.raises(ExpressionError, match="boolean"):
        compile_expression("x * 2", FACTS, expect=FactType.BOOLEAN)


def test_null_only_expression_takes_expected_type() -> None:
    assert compile_expression("NULL", FACTS, expect=FactType.BOOLEAN).evaluate({}) is None
    with pytest.raises(ExpressionError, match="NULL"):
        compile_expression("NULL", FACTS)


def test_wrong_value_type_is_reported() -> None:
    expression = compile_expression("person.age > 3", FACTS)
    with pytest.raises(EvaluationError, match=r"person\.age"):
        expression.evaluate({"person.age": "70"})
    with pytest.raises(EvaluationError, match=r"person\.age"):
        expression.evaluate({"person.age": True})
    date_rule = compile_expression("d > DATE '2020-01-01'", FACTS)
    with pytest.raises(EvaluationError, match="datetime"):
        date_rule.evaluate({"d": dt.datetime(2024, 1, 1)})


def test_date_overflow_is_an_evaluation_error() -> None:
    expression = compile_expression("ADD_YEARS(d, i)", FACTS)
    with pytest.raises(EvaluationError, match="超出范围"):
        expression.evaluate({"d": D(2024, 1, 1), "i": 9000})


def test_custom_column_mapping() -> None:
    expression = compile_expression("person.age >= 65 AND s = 'x'", FACTS)
    sql = expression.to_sql(column=lambda name: f"f.{name.replace('.', '_')}")
    assert sql == "f.person_age >= 65 AND f.s = 'x'"
    con = duckdb.connect()
    con.execute("CREATE TABLE f (person_age BIGINT, s VARCHAR)")
    con.execute("INSERT INTO f VALUES (70, 'x')")
    assert con.execute(f"SELECT {sql} FROM f").fetchone() == (True,)


def test_complex_column_sql_is_parenthesised() -> None:
    expression = compile_expression("x * 2", FACTS)
    assert expression.to_sql(column=lambda name: "a.v + 1") == "(a.v + 1) * CAST(2 AS BIGINT)"


def test_integer_literal_arithmetic_does_not_overflow_int32_in_duckdb() -> None:
    expression = compile_expression("100000 * 100000 + i", FACTS)
    (value,) = duckdb_values(duckdb.connect(), expression, FACTS, [{"i": 1}])
    assert value == expression.evaluate({"i": 1}) == 10_000_000_001


def test_decimal_literals_are_doubles_on_both_targets() -> None:
    expression = compile_expression("0.1 + 0.2 = 0.3", FACTS)
    (value,) = duckdb_values(duckdb.connect(), expression, FACTS, [{}])
    assert value is expression.evaluate({}) is False


def test_repr_and_source() -> None:
    expression = compile_expression("i > 1", FACTS)
    assert expression.source == "i > 1"
    assert "i > 1" in repr(expression)
    assert "def _expression(values)" in expression.python_source


def test_unsupported_dialect() -> None:
    with pytest.raises(ValueError, match="dialect"):
        compile_expression("i > 1", FACTS).to_sql("mysql")
