"""Property tests: for random expressions and random facts (NULLs included) the Python target equals DuckDB."""

from __future__ import annotations

import datetime as dt
from functools import cache

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from miaopi.rules import EvaluationError, FactType, compile_expression
from tests.rules.helpers import duckdb_values, same_value

F = FactType
FACTS: dict[str, FactType] = {
    "p.i1": F.INTEGER,
    "p.i2": F.INTEGER,
    "p.n1": F.NUMBER,
    "p.n2": F.NUMBER,
    "q.s1": F.STRING,
    "q.s2": F.STRING,
    "q.d1": F.DATE,
    "decision_date": F.DATE,
    "q.b1": F.BOOLEAN,
    "q.b2": F.BOOLEAN,
}
NAMES = {t: [n for n, ft in FACTS.items() if ft is t] for t in FactType}
ALPHABET = "ab_%A大秒 "

Text = st.SearchStrategy[str]


def _string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _literal(type_: FactType) -> Text:
    if type_ is F.INTEGER:
        return st.integers(-20, 20).map(str)
    if type_ is F.NUMBER:
        return st.sampled_from(["0.5", "2.5", "-1.25", "0.3", "1e2", "3.0", "0.1"])
    if type_ is F.STRING:
        return st.text(ALPHABET, max_size=4).map(_string_literal)
    if type_ is F.DATE:
        return st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)).map(lambda d: f"DATE '{d.isoformat()}'")
    return st.sampled_from(["TRUE", "FALSE"])


def _leaf(type_: FactType) -> Text:
    options = [st.sampled_from(NAMES[type_]), _literal(type_)]
    if type_ is not F.BOOLEAN:
        options.append(st.just("NULL"))
    return st.one_of(*options)


def _join(template: str, *parts: Text) -> Text:
    return st.tuples(*parts).map(lambda values: template.format(*values))


@cache
def expression(type_: FactType, depth: int) -> Text:
    """SQL text of the given type, built from the language's constructs, nesting at most ``depth``."""
    if depth <= 0:
        return _leaf(type_)
    sub = lambda t: expression(t, depth - 1)  # noqa: E731
    i, n, s, d, b = F.INTEGER, F.NUMBER, F.STRING, F.DATE, F.BOOLEAN
    common = [
        _leaf(type_),
        _join("CASE WHEN {} THEN {} ELSE {} END", sub(b), sub(type_), sub(type_)),
        _join("CASE WHEN {} THEN {} END", sub(b), sub(type_)),
        _join("COALESCE({}, {})", sub(type_), sub(type_)),
        _join("IF({}, {}, {})", sub(b), sub(type_), sub(type_)),
    ]
    numeric = st.one_of(sub(i), sub(n))
    any_type = st.one_of(*(sub(t) for t in FactType))
    by_type: dict[FactType, list[Text]] = {
        i: [
            _join("({} {} {})", sub(i), st.sampled_from(["+", "-", "*", "%"]), sub(i)),
            _join("-({})", sub(i)),
            _join("ABS({})", sub(i)),
            _join("LENGTH({})", sub(s)),
            _join("{}({})", st.sampled_from(["YEAR", "MONTH", "DAY"]), sub(d)),
            _join(
                "{}({}, {})",
                st.sampled_from(["YEARS_BETWEEN", "MONTHS_BETWEEN", "DAYS_BETWEEN"]),
                sub(d),
                sub(d),
            ),
            _join("{}({}, {})", st.sampled_from(["LEAST", "GREATEST"]), sub(i), sub(i)),
            _join("ROUND({}, {})", sub(i), st.integers(-2, 1).map(str)),
            _join("FLOOR({})", sub(i)),
        ],
        n: [
            _join("({} {} {})", numeric, st.sampled_from(["+", "-", "*", "/", "%"]), sub(n)),
            _join("({} / {})", sub(i), sub(i)),
            _join("ROUND({}, {})", sub(n), st.integers(-1, 3).map(str)),
            _join("{}({})", st.sampled_from(["FLOOR", "CEIL", "ABS"]), sub(n)),
            _join("{}({}, {})", st.sampled_from(["LEAST", "GREATEST"]), sub(n), numeric),
            _join("COALESCE({}, {})", sub(n), sub(i)),
        ],
        s: [
            _join("{}({})", st.sampled_from(["UPPER", "LOWER"]), sub(s)),
            _join("SUBSTR({}, {})", sub(s), st.integers(1, 3).map(str)),
            _join("SUBSTR({}, {}, {})", sub(s), st.integers(1, 3).map(str), st.integers(0, 3).map(str)),
            _join("{}({}, {})", st.sampled_from(["LEAST", "GREATEST"]), sub(s), sub(s)),
        ],
        d: [
            _join("{}({}, {})", st.sampled_from(["ADD_DAYS", "ADD_MONTHS", "ADD_YEARS"]), sub(d), sub(i)),
            _join("{}({}, {})", st.sampled_from(["LEAST", "GREATEST"]), sub(d), sub(d)),
        ],
        b: [
            _join("({} {} {})", sub(b), st.sampled_from(["AND", "OR"]), sub(b)),
            _join("(NOT {})", sub(b)),
            _join("({} IS NULL)", any_type),
            _join("({} IS NOT NULL)", any_type),
            *(
                _join("({} {} {})", sub(t), st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), sub(t))
                for t in (i, n, s, d)
            ),
            _join("({} {} {})", sub(i), st.sampled_from(["=", "<", ">="]), sub(n)),
            _join(
                "({} {}IN ({}, {}, {}))", sub(i), st.sampled_from(["", "NOT "]), sub(i), _leaf(i), _literal(i)
            ),
            _join("({} IN ({}, {}))", sub(s), _literal(s), _literal(s)),
            _join("({} {}BETWEEN {} AND {})", sub(n), st.sampled_from(["", "NOT "]), sub(i), sub(n)),
            _join("({} BETWEEN {} AND {})", sub(d), sub(d), sub(d)),
            _join(
                "({} {}LIKE {})",
                sub(s),
                st.sampled_from(["", "NOT "]),
                st.text(ALPHABET, max_size=4).map(_string_literal),
            ),
            _join("STARTS_WITH({}, {})", sub(s), sub(s)),
        ],
    }
    return st.one_of(*common, *by_type[type_])


def _value(type_: FactType) -> st.SearchStrategy[object]:
    if type_ is F.INTEGER:
        return st.integers(-100, 100)
    if type_ is F.NUMBER:
        return st.one_of(
            st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, 0.5, -0.5, 2.5, -2.5, 1.005, 2.675, 1e-7]),
            st.integers(-100, 100).map(float),
        )
    if type_ is F.STRING:
        return st.text(ALPHABET, max_size=5)
    if type_ is F.DATE:
        return st.one_of(
            st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
            st.sampled_from([dt.date(2024, 2, 29), dt.date(2024, 1, 31), dt.date(2023, 12, 31)]),
        )
    return st.booleans()


ROW = st.fixed_dictionaries({}, optional={name: st.one_of(st.none(), _value(t)) for name, t in FACTS.items()})
SQL_LIMITS = ("Overflow", "out of range", "Out of Range", "Conversion Error", "Could not convert")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _check(
    con: duckdb.DuckDBPyConnection, source: str, type_: FactType, rows: list[dict[str, object]]
) -> None:
    expression = compile_expression(source, FACTS, expect=type_, max_length=20_000)
    assert expression.result_type is type_
    try:
        python = [expression.evaluate(row) for row in rows]
    except EvaluationError:
        assume(False)  # a date pushed beyond year 9999: Python cannot represent it
        return
    try:
        sql = duckdb_values(con, expression, FACTS, rows)
    except duckdb.Error as error:
        # Integer overflow beyond BIGINT and out-of-range dates are errors in SQL; Python ints do not overflow.
        assert any(fragment in str(error) for fragment in SQL_LIMITS), (str(error), expression.to_sql())
        assume(False)
        return
    for row, p, q in zip(rows, python, sql, strict=True):
        assert same_value(p, q), (
            f"{source}\nSQL: {expression.to_sql()}\nrow: {row}\npython: {p!r} duckdb: {q!r}"
        )


PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("type_", list(FactType))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_python_target_equals_duckdb(
    con: duckdb.DuckDBPyConnection, type_: FactType, data: st.DataObject
) -> None:
    source = data.draw(expression(type_, 3), label="expression")
    rows = data.draw(st.lists(ROW, min_size=1, max_size=6), label="rows")
    _check(con, source, type_, rows)


@pytest.mark.parametrize(
    "source",
    ["(COALESCE('', q.s1) IS NULL)", "(COALESCE(1.5, p.n1) IS NULL)", "(COALESCE(q.s1, 'x') IS NULL)"],
)
def test_is_null_of_what_generates_a_constant(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Found by hypothesis: COALESCE with a literal first generates that literal, and `'' is None` does
    not compile cleanly (a SyntaxWarning, an error under -W error)."""
    _check(con, source, FactType.BOOLEAN, [{}, {"q.s1": "a", "p.n1": 2.0}])
