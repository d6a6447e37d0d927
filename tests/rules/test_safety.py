"""Hostile and malformed input: each is rejected at compile time with a message naming the problem."""

from __future__ import annotations

import time

import pytest

from miaopi.rules import ExpressionError, FactType, compile_expression

F = FactType
FACTS = {
    "person.age": F.INTEGER,
    "person.hukou_city": F.STRING,
    "person.birth_date": F.DATE,
    "x": F.NUMBER,
    "s": F.STRING,
    "d": F.DATE,
    "b": F.BOOLEAN,
}

# (source, a fragment the message must contain)
REJECTED: list[tuple[str, str]] = [
    # not in the language
    ("read_csv('/etc/passwd')", "READ_CSV"),
    ("read_parquet('s3://bucket/x.parquet') IS NULL", "READ_PARQUET"),
    ("getvariable('secret') = 1", "getvariable"),
    ("now() > d", "NOW"),
    ("generate_series(1, 3)", "GENERATE_SERIES"),
    ("(SELECT 1) = 1", "子查询"),
    ("person.age IN (SELECT age FROM people)", "子查询"),
    ("EXISTS (SELECT 1)", "子查询"),
    ("SELECT 1", "SELECT"),
    ("COPY people TO '/tmp/x.csv'", "COPY"),
    ("ATTACH 'evil.db' AS evil", "ATTACH"),
    ("PRAGMA version", "PRAGMA"),
    ("DROP TABLE people", "DROP"),
    ("SUM(x) > 3", "SUM"),
    ("COUNT(*) > 3", "COUNT"),
    ("SUM(x) OVER () > 3", "窗口函数"),
    ("person.age > 1; DROP TABLE people", "分号"),
    ("person.age > 1;", "分号"),
    ("person.age > 1 -- AND FALSE", "注释"),
    ("person.age /* hidden */ > 1", "注释"),
    ("CAST(s AS INTEGER) > 1", "CAST"),
    ("s::INTEGER > 1", "CAST"),
    ("x // 2 > 1", "IntDiv"),
    ("$1 > 2", "占位符"),
    ("? > 2", "占位符"),
    ("s || 'a' = 'b'", "DPipe"),
    ("person.* IS NULL", "*"),
    ("b IS TRUE", "IS NULL"),
    ("CASE s WHEN 'a' THEN 1 END", "CASE WHEN"),
    ("s LIKE 'a' ESCAPE '!'", "Escape"),
    ("s LIKE s", "字符串常量"),
    ("s LIKE 'a\\%'", "反斜杠"),
    ("ROUND(x, person.age)", "整数常量"),
    ("ROUND(x, 99)", "-15"),
    ("SUBSTR(s, 0, 2)", "SUBSTR"),
    ("SUBSTR(s, person.age)", "整数常量"),
    ("LENGTH(s, 1)", "LENGTH"),
    ("ABS(x, 2) > 1", "ABS(x, 2"),
    ("YEARS_BETWEEN(d) > 1", "YEARS_BETWEEN"),
    ("READ_CSV_AUTO('x')", "READ_CSV_AUTO"),
    ("INTERVAL 1 DAY", "Interval"),
    ("[1, 2]", "ARRAY"),
    ("x[1] > 2", "Bracket"),
    # names
    ("person.agee > 1", "person.age"),
    ("unknown_fact = 1", "unknown_fact"),
    ("person.hukou > 'a'", "person.hukou_city"),
    ("yeers_between(d, d) > 1", "YEARS_BETWEEN"),
    # types
    ("person.age > '65'", "integer"),
    ("d > '2024-01-01'", "DATE 'yyyy-mm-dd'"),
    ("d > DATE '2024-02-30'", "2024-02-30"),
    ("d > DATE 'tomorrow'", "tomorrow"),
    ("person.age AND b", "AND"),
    ("NOT person.age", "NOT"),
    ("s + 1", "+"),
    ("CASE WHEN b THEN 1 ELSE 'one' END", "CASE"),
    ("CASE WHEN x THEN 1 END", "condition"),
    ("IF(b, d, 1)", "IF"),
    ("COALESCE(s, 1)", "COALESCE"),
    ("LEAST(b, b)", "LEAST"),
    ("UPPER(x)", "UPPER"),
    ("YEAR(s)", "YEAR"),
    ("ADD_DAYS(d, x)", "ADD_DAYS"),
    ("person.age IN (1, 'a')", "IN"),
    ("s BETWEEN 1 AND 2", "BETWEEN"),
    ("-s", "unary minus"),
    # syntax
    ("person.age >= AND 3", "语法错误"),
    ("person.age >= 'abc", "tokenize"),
    ("", "为空"),
    ("   ", "为空"),
    ("(person.age > 1", "语法错误"),
]


@pytest.mark.parametrize(("source", "fragment"), REJECTED)
def test_rejected_with_a_message(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, FACTS)
    error = info.value
    assert fragment in error.message or fragment in (error.snippet or ""), error.message
    assert str(error).startswith(error.message)


def test_error_has_position_and_snippet() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("person.age > 1 AND personn.age < 3", FACTS)
    assert info.value.position == 19
    assert info.value.snippet == "personn.age"
    assert "did you mean" in info.value.message


def test_type_error_names_sub_expression_and_types() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("b AND (x + 1)", FACTS)
    assert "x + 1" in info.value.message
    assert "number" in info.value.message and "boolean" in info.value.message


def _assert_fast_rejection(source: str, fragment: str, **kwargs: int) -> None:
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match=fragment):
        compile_expression(source, FACTS, **kwargs)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "source",
    [
        "(" * 5000 + "x" + ")" * 5000 + " > 1",
        "NOT " * 5000 + "b",
        "- " * 5000 + "x > 1",
        "ABS(" * 1000 + "x" + ")" * 1000 + " > 1",
        "CASE WHEN b THEN " * 1000 + "1" + " END" * 1000 + " > 0",
    ],
)
def test_pathological_nesting_is_rejected_without_recursion_error(source: str) -> None:
    _assert_fast_rejection(source, "嵌套过深", max_length=100_000)


def test_depth_limit_applies_to_long_arithmetic_chains() -> None:
    _assert_fast_rejection(" + ".join(["x"] * 60) + " > 1", "嵌套过深")
    assert compile_expression(" + ".join(["x"] * 30) + " > 1", FACTS).evaluate({"x": 1.0}) is True


def test_long_and_chains_are_flat() -> None:
    source = " AND ".join(f"person.age > {i}" for i in range(200))
    expression = compile_expression(source, FACTS, max_length=10_000)
    assert expression.evaluate({"person.age": 500}) is True
    assert expression.evaluate({"person.age": 100}) is False


def test_depth_at_the_limit_compiles_on_both_targets() -> None:
    source = "(" * 38 + "x" + ")" * 38 + " > 1"
    assert compile_expression(source, FACTS).evaluate({"x": 2.0}) is True
    nested = "ABS(" * 38 + "x" + ")" * 38 + " > 1"
    expression = compile_expression(nested, FACTS)
    assert expression.evaluate({"x": -2.0}) is True
    assert expression.to_sql("spark").count("ABS(") == 38


def test_source_length_limit() -> None:
    _assert_fast_rejection("x > " + "1" * 5000, "过长")
    _assert_fast_rejection("x > 1", "过长", max_length=3)


def test_giant_literals() -> None:
    _assert_fast_rejection("x > 10000000000000001", "10\\^15")
    _assert_fast_rejection("x > -10000000000000001", "10\\^15")
    _assert_fast_rejection("x > 1e300", "10\\^15")
    _assert_fast_rejection("x > 1e999", "10\\^15")
    _assert_fast_rejection("s = '" + "a" * 1001 + "'", "字符串常量过长")
    assert compile_expression("x > 1000000000000000", FACTS).evaluate({"x": 1e16}) is True


def test_in_list_limit() -> None:
    too_many = ", ".join("1" for _ in range(1001))
    _assert_fast_rejection(f"person.age IN ({too_many})", "IN 列表过长")
    enough = ", ".join(str(i) for i in range(1000))
    assert compile_expression(f"person.age IN ({enough})", FACTS, max_length=10_000).evaluate(
        {"person.age": 999}
    )


def test_node_count_limit() -> None:
    source = " OR ".join("b" for _ in range(2000))
    _assert_fast_rejection(source, "过大", max_length=100_000)


def test_sql_expansion_limit() -> None:
    # Each YEARS_BETWEEN repeats its date arguments three times in SQL; nesting multiplies that.
    inner = "d"
    for _ in range(12):
        inner = f"ADD_DAYS(d, YEARS_BETWEEN({inner}, d))"
    _assert_fast_rejection(f"{inner} > d", "展开")


def test_non_string_source() -> None:
    with pytest.raises(ExpressionError, match="字符串"):
        compile_expression(42, FACTS)  # type: ignore[arg-type]


def test_generated_python_embeds_user_text_only_as_literals() -> None:
    text = "'); import os; os.system('x') #"
    hostile = "s = '" + text.replace("'", "''") + "'"
    expression = compile_expression(hostile, FACTS)
    assert expression.evaluate({"s": "x"}) is False
    assert expression.evaluate({"s": text}) is True
    assert repr(text) in expression.python_source
    assert "import os" not in expression.python_source.replace(repr(text), "")


def test_fact_names_are_embedded_safely() -> None:
    facts = {"a'b\"c": FactType.INTEGER}
    expression = compile_expression('"a\'b""c" > 1', facts)
    assert expression.facts_read == ("a'b\"c",)
    assert expression.evaluate({"a'b\"c": 2}) is True
