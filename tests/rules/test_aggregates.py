"""Aggregates over records: units, and the Python target against DuckDB GROUP BY."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miaopi.rules import Aggregate, ExpressionError, FactType, compile_aggregate
from tests.rules.helpers import load_table, quote, same_value

F = FactType
D = dt.date
FIELDS = {
    "points": F.INTEGER,
    "amount": F.NUMBER,
    "period_end": F.DATE,
    "kind": F.STRING,
    "revoked": F.BOOLEAN,
}
CONTEXT = {"decision_date": F.DATE}
CTX = {"decision_date": D(2024, 6, 30)}
RECORDS: list[dict[str, object]] = [
    {"points": 12, "amount": 100.0, "period_end": D(2023, 12, 31), "kind": "a", "revoked": True},
    {"points": 3, "amount": 50.5, "period_end": D(2022, 12, 31), "kind": "b", "revoked": False},
    {"points": None, "amount": None, "period_end": D(2020, 12, 31), "kind": "a", "revoked": None},
    {"points": 15, "amount": 7.0, "period_end": D(2019, 12, 31), "kind": "c", "revoked": True},
]


def agg(function: str, value: str | None = None, where: str | None = None) -> Aggregate:
    return compile_aggregate(function, FIELDS, value=value, where=where, context=CONTEXT)


RECENT = "period_end >= ADD_YEARS(decision_date, -3)"


@pytest.mark.parametrize(
    ("function", "value", "where", "expected"),
    [
        ("COUNT", None, None, 4),
        ("COUNT", "points", None, 3),
        ("COUNT", None, f"points >= 12 AND {RECENT}", 1),
        ("COUNT", None, "revoked", 2),
        ("EXISTS", None, f"points >= 12 AND {RECENT}", True),
        ("EXISTS", None, "points > 100", False),
        ("SUM", "amount", RECENT, 150.5),
        ("SUM", "points", None, 30),
        ("SUM", "points", "kind = 'zzz'", None),
        ("MIN", "period_end", "points IS NOT NULL", D(2019, 12, 31)),
        ("MAX", "kind", None, "c"),
        ("AVG", "points", None, 10.0),
        ("AVG", "amount * 2", RECENT, 150.5),
    ],
)
def test_aggregate_values(function: str, value: str | None, where: str | None, expected: object) -> None:
    aggregate = agg(function, value, where)
    result = aggregate.evaluate(RECORDS, CTX)
    assert same_value(result, expected), (result, expected)


def test_no_data_and_empty() -> None:
    for function, value, empty in [("COUNT", None, 0), ("EXISTS", None, False), ("SUM", "amount", None)]:
        aggregate = agg(function, value, "points > 1")
        assert aggregate.evaluate(None, CTX) is None
        assert aggregate.evaluate([], CTX) == empty
        assert aggregate.empty_value == empty


def test_result_types_and_facts_read() -> None:
    assert agg("COUNT").result_type is F.INTEGER
    assert agg("EXISTS", where="revoked").result_type is F.BOOLEAN
    assert agg("SUM", "points").result_type is F.INTEGER
    assert agg("SUM", "amount").result_type is F.NUMBER
    assert agg("AVG", "points").result_type is F.NUMBER
    assert agg("MAX", "period_end").result_type is F.DATE
    assert agg("SUM", "amount", RECENT).facts_read == ("amount", "period_end", "decision_date")


def test_sql_shape() -> None:
    assert agg("COUNT").to_sql() == "COUNT(*)"
    assert agg("COUNT", where="revoked").to_sql() == 'COUNT(CASE WHEN "revoked" THEN 1 END)'
    assert agg("SUM", "amount", "revoked").to_sql("spark") == "SUM(CASE WHEN `revoked` THEN `amount` END)"
    assert agg("EXISTS", where="points >= 12").to_sql() == 'COUNT(CASE WHEN "points" >= 12 THEN 1 END) > 0'


@pytest.mark.parametrize(
    ("function", "value", "where", "fragment"),
    [
        ("MEDIAN", "points", None, "MEDIAN"),
        ("SUM", None, None, "value"),
        ("SUM", "kind", None, "SUM"),
        ("MIN", "revoked", None, "MIN"),
        ("EXISTS", "points", "revoked", "EXISTS"),
        ("COUNT", None, "points", "boolean"),
        ("COUNT", None, "nope > 1", "nope"),
        ("SUM", "SUM(points)", None, "SUM"),
    ],
)
def test_aggregate_errors(function: str, value: str | None, where: str | None, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        agg(function, value, where)
    assert fragment in info.value.message or fragment in (info.value.snippet or "")


def test_a_field_named_like_a_context_fact_cannot_be_read() -> None:
    fields = {"decision_date": F.DATE, "category": F.STRING}
    for value, where in [(None, "decision_date >= DATE '2024-01-01'"), ("decision_date", None)]:
        with pytest.raises(ExpressionError, match="decision_date"):
            compile_aggregate("MAX" if value else "COUNT", fields, value=value, where=where, context=CONTEXT)


def test_a_resource_with_such_a_field_is_still_usable() -> None:
    # Credit penalty records carry their own decision_date: their other fields can still be aggregated.
    fields = {"decision_date": F.DATE, "category": F.STRING}
    aggregate = compile_aggregate("COUNT", fields, value=None, where="category = '罚款'", context=CONTEXT)
    records = [
        {"decision_date": D(2020, 1, 1), "category": "罚款"},
        {"decision_date": D(2021, 1, 1), "category": "警告"},
    ]
    assert aggregate.evaluate(records, CTX) == 1
    assert aggregate.facts_read == ("category",)
    assert (
        compile_aggregate("COUNT", fields, value=None, where=None, context=CONTEXT).evaluate(records, CTX)
        == 2
    )


# -- Python target against DuckDB GROUP BY ----------------------------------------------------------------

PARTS: list[tuple[str, str | None, str | None]] = [
    ("COUNT", None, None),
    ("COUNT", "points", None),
    ("COUNT", None, "points >= 12 AND period_end >= ADD_YEARS(decision_date, -3)"),
    ("EXISTS", None, "revoked"),
    ("EXISTS", None, "points >= 12 OR kind = 'a'"),
    ("SUM", "points", "period_end >= ADD_MONTHS(decision_date, -12)"),
    ("SUM", "amount", "NOT revoked"),
    ("SUM", "amount * points", None),
    ("MIN", "period_end", "points > 5"),
    ("MAX", "kind", "amount > 0"),
    ("MAX", "amount", None),
    ("AVG", "points", "kind <> 'b'"),
    ("AVG", "amount", None),
]

RECORD = st.fixed_dictionaries(
    {},
    optional={
        "points": st.one_of(st.none(), st.integers(0, 20)),
        "amount": st.one_of(st.none(), st.floats(-1000, 1000, allow_nan=False)),
        "period_end": st.one_of(st.none(), st.dates(D(2018, 1, 1), D(2025, 12, 31))),
        "kind": st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
        "revoked": st.one_of(st.none(), st.booleans()),
    },
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    groups=st.lists(st.lists(RECORD, max_size=6), min_size=1, max_size=5),
    decision_date=st.dates(D(2020, 1, 1), D(2026, 1, 1)),
)
def test_aggregates_equal_duckdb_group_by(
    con: duckdb.DuckDBPyConnection, groups: list[list[dict[str, object]]], decision_date: dt.date
) -> None:
    rows = [{**record, "subject": key} for key, records in enumerate(groups) for record in records]
    load_table(con, "records", {"subject": F.INTEGER, **FIELDS}, rows)
    context = {"decision_date": decision_date}
    literal_context = {"decision_date": f"DATE '{decision_date.isoformat()}'"}
    aggregates = [agg(*part) for part in PARTS]
    columns = ", ".join(
        a.to_sql("duckdb", column=lambda name: literal_context.get(name) or quote(name)) for a in aggregates
    )
    result = {
        row[0]: row[1:]
        for row in con.execute(f"SELECT subject, {columns} FROM records GROUP BY subject").fetchall()
    }
    for key, records in enumerate(groups):
        sql_row = result.get(key, tuple(a.empty_value for a in aggregates))
        for aggregate, sql in zip(aggregates, sql_row, strict=True):
            python = aggregate.evaluate(records, context)
            assert same_value(python, sql), (aggregate, records, python, sql)
