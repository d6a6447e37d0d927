"""Benchmark of miaopi.rules: evaluating a 10-rule item for one case.

Run: .venv/bin/python bench/bench_rules.py

Prints median and p99 in µs of evaluating all 10 rules with the Python target, against two baselines
measured in the same run: a hand-written Python function of the same 10 conditions (no NULL handling),
and one DuckDB query computing the same 10 rules for the case.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable

import duckdb

from miaopi.rules import FactType, compile_expression, sql_type

F = FactType
FACTS: dict[str, FactType] = {
    "person.age": F.INTEGER,
    "person.hukou_city": F.STRING,
    "person.birth_date": F.DATE,
    "person.income_monthly": F.NUMBER,
    "enterprise.ui_paid_last_year": F.NUMBER,
    "enterprise.size_class": F.STRING,
    "enterprise.in_blacklist": F.BOOLEAN,
    "enterprise.employees": F.INTEGER,
    "enterprise.layoff_rate": F.NUMBER,
    "enterprise.registered_date": F.DATE,
    "decision_date": F.DATE,
}
RULES = [
    "person.age >= 18",
    "person.hukou_city = '310000'",
    "YEARS_BETWEEN(person.birth_date, decision_date) < 65",
    "enterprise.ui_paid_last_year > 0",
    "enterprise.size_class IN ('小', '微', '中')",
    "NOT enterprise.in_blacklist",
    "enterprise.employees BETWEEN 1 AND 300",
    "enterprise.layoff_rate <= 0.055 OR enterprise.employees <= 30",
    "person.income_monthly * 12 < 100000",
    "enterprise.registered_date <= ADD_YEARS(decision_date, -1)",
]
CASE: dict[str, object] = {
    "person.age": 42,
    "person.hukou_city": "310000",
    "person.birth_date": dt.date(1982, 3, 14),
    "person.income_monthly": 7800.0,
    "enterprise.ui_paid_last_year": 125000.0,
    "enterprise.size_class": "小",
    "enterprise.in_blacklist": False,
    "enterprise.employees": 48,
    "enterprise.layoff_rate": 0.02,
    "enterprise.registered_date": dt.date(2015, 6, 1),
    "decision_date": dt.date(2024, 5, 20),
}


def hand_written(v: dict[str, object]) -> list[bool]:
    """The same 10 conditions written directly in Python, assuming every fact is present."""
    birth: dt.date = v["person.birth_date"]  # type: ignore[assignment]
    decision: dt.date = v["decision_date"]  # type: ignore[assignment]
    registered: dt.date = v["enterprise.registered_date"]  # type: ignore[assignment]
    age_years = decision.year - birth.year - ((decision.month, decision.day) < (birth.month, birth.day))
    try:
        year_before = decision.replace(year=decision.year - 1)
    except ValueError:
        year_before = decision.replace(year=decision.year - 1, day=28)
    employees: int = v["enterprise.employees"]  # type: ignore[assignment]
    return [
        v["person.age"] >= 18,  # type: ignore[operator]
        v["person.hukou_city"] == "310000",
        age_years < 65,
        v["enterprise.ui_paid_last_year"] > 0,  # type: ignore[operator]
        v["enterprise.size_class"] in ("小", "微", "中"),
        not v["enterprise.in_blacklist"],
        1 <= employees <= 300,
        v["enterprise.layoff_rate"] <= 0.055 or employees <= 30,  # type: ignore[operator]
        v["person.income_monthly"] * 12 < 100000,  # type: ignore[operator]
        registered <= year_before,
    ]


def measure(function: Callable[[], object], iterations: int) -> tuple[float, float]:
    """Median and p99 in µs over ``iterations`` timed calls (after a warm-up)."""
    for _ in range(min(iterations, 1000)):
        function()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        function()
        samples.append(clock() - start)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> None:
    expressions = [compile_expression(rule, FACTS, expect=F.BOOLEAN) for rule in RULES]
    expected = hand_written(CASE)
    assert [e.evaluate(CASE) for e in expressions] == expected

    def rules_python() -> list[object]:
        return [e.evaluate(CASE) for e in expressions]

    con = duckdb.connect()
    columns = ", ".join(f'CAST(? AS {sql_type(t)}) AS "{name}"' for name, t in FACTS.items())
    selects = ", ".join(e.to_sql("duckdb") for e in expressions)
    query = f"SELECT {selects} FROM (SELECT {columns})"
    parameters = [CASE[name] for name in FACTS]
    assert list(con.execute(query, parameters).fetchone() or ()) == expected

    def rules_duckdb() -> object:
        return con.execute(query, parameters).fetchone()

    print(f"10-rule item, {sum(len(e.facts_read) for e in expressions)} fact reads, one case")
    rows = [
        ("miaopi.rules Python target", measure(rules_python, 50_000)),
        ("hand-written Python (no NULLs)", measure(lambda: hand_written(CASE), 50_000)),
        ("DuckDB, one query per case", measure(rules_duckdb, 1_000)),
    ]
    target = rows[0][1][0]
    print(f"{'':34} {'median µs':>10} {'p99 µs':>10} {'vs rules':>13}")
    for label, (median, p99) in rows:
        print(f"{label:34} {median:10.2f} {p99:10.2f} {median / target:12.2f}x")
    verdict = "OK" if target < 20 else "ABOVE TARGET"
    print(f"target: median under 20 µs for the 10 rules — {verdict} ({target:.2f} µs)")


if __name__ == "__main__":
    main()
