"""The demo catalogue: it checks clean, its own cases pass, every rule means the same on both
targets, and screening the demo city agrees with deciding each subject one at a time."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miaopi.catalog import DEMO_CATALOG, Catalog, Plan, run_all, screening_query
from miaopi.city import builtin_resource_catalogue, generate_city
from miaopi.rules import Expression, FactType
from miaopi.sharing import ResourceCatalogue, SharingExchange

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def demo() -> Catalog:
    return Catalog.load(DEMO_CATALOG, builtin_resource_catalogue())


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> ResourceCatalogue:
    out = tmp_path_factory.mktemp("democity") / "city"
    generate_city(out, scale="demo")
    return ResourceCatalogue.load(out / "resources.yaml")


def test_demo_catalogue_models_every_required_item_and_policy(demo: Catalog) -> None:
    names = " ".join([item.name for item in demo.items.values()] + [p.name for p in demo.policies.values()])
    for required in (
        "稳岗返还",
        "老年综合津贴",
        "网络预约出租汽车驾驶员证",
        "企业投资项目备案",
        "公共场所卫生许可证",
        "落户",
        "药品经营许可证",
    ):
        assert required in names, required
    assert len(demo.items) >= 10 and len(demo.policies) >= 2
    for owner in [*demo.items.values(), *demo.policies.values()]:
        assert len(owner.cases) >= 3, owner
        outcomes = {case.expect_outcome for case in owner.cases}
        assert any(case.expect_unknown for case in owner.cases), f"{owner} has no missing-fact case"
        assert len(outcomes) >= 2, f"{owner} needs a passing and a failing case"


def test_demo_cases_pass(demo: Catalog) -> None:
    failed = [(r.owner, r.case.name, r.problems) for r in run_all(demo) if not r.passed]
    assert failed == []


def test_catalog_commands(tmp_path: Path) -> None:
    check = subprocess.run(
        [sys.executable, "-m", "miaopi", "catalog", "check"], capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0 and "检查通过" in check.stdout
    tested = subprocess.run(
        [sys.executable, "-m", "miaopi", "catalog", "test"], capture_output=True, text=True, timeout=120
    )
    assert tested.returncode == 0
    assert tested.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "facts.yaml").write_text(
        "facts:\n  - {name: person.x, type: integer, expr: person.y + 1}\n", encoding="utf-8"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "miaopi", "catalog", "check", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "facts.yaml:2" in bad.stderr and "person.y" in bad.stderr and "Traceback" not in bad.stderr


def _values(fact_type: FactType) -> st.SearchStrategy[object]:
    return {
        FactType.BOOLEAN: st.booleans(),
        FactType.INTEGER: st.integers(-5, 200),
        FactType.NUMBER: st.floats(-1e6, 1e7, allow_nan=False).map(lambda x: round(x, 2)),
        FactType.STRING: st.sampled_from(
            ["310000", "440300", "大", "小", "微", "存续", "本科", "C1", "A", ""]
        ),
        FactType.DATE: st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)),
    }[fact_type]


def _expressions(demo: Catalog) -> list[tuple[str, Expression, dict[str, FactType]]]:
    found = []
    for owner in [*demo.items.values(), *demo.policies.values()]:
        for version in owner.versions:
            for rule in version.rules:
                found.append((f"{owner}:{rule.id}", rule.expression, {}))
            if version.amount is not None:
                found.append((f"{owner}:amount", version.amount, {}))
    for fact in demo.facts.facts.values():
        if fact.expression is not None:
            found.append((fact.name, fact.expression, {}))
    return found


def test_every_demo_rule_means_the_same_in_python_and_duckdb(demo: Catalog) -> None:
    """Hypothesis draws fact values (NULL included) for each rule, derived fact and amount; the
    Python closure and DuckDB running the compiled SQL must agree."""
    connection = duckdb.connect()
    types = demo.facts.types()
    for item in demo.items.values():
        types.update({name: fact.type for name, fact in demo.form_facts(item).items()})
    expressions = _expressions(demo)
    assert len(expressions) > 50

    for label, expression, _ in expressions:
        _check_both_targets(label, expression, types, connection)


def _check_both_targets(
    label: str, expression: Expression, types: dict[str, FactType], connection: duckdb.DuckDBPyConnection
) -> None:
    strategy = st.fixed_dictionaries(
        {name: st.none() | _values(types[name]) for name in expression.facts_read}
    )

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(strategy)
    def agree(values: dict[str, object]) -> None:
        expected = expression.evaluate(values)
        literals = {name: _sql_literal(value, types[name]) for name, value in values.items()}
        sql = expression.to_sql("duckdb", column=lambda name: literals[name])
        row = connection.execute(f"SELECT {sql}").fetchone()
        assert row is not None
        actual = row[0]
        if isinstance(expected, float) or isinstance(actual, float):
            assert (expected is None) == (actual is None), label
            if expected is not None:
                assert float(actual) == pytest.approx(float(expected), rel=1e-9, abs=1e-9), label
        else:
            assert actual == expected, (label, values, sql)

    agree()


def _sql_literal(value: object, fact_type: FactType) -> str:
    sql_type = {
        "boolean": "BOOLEAN",
        "integer": "BIGINT",
        "number": "DOUBLE",
        "string": "VARCHAR",
        "date": "DATE",
    }[fact_type.value]
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"CAST({value!r} AS {sql_type})"


@pytest.mark.parametrize("policy_id", ["ui-job-retention-refund", "shanghai-elderly-allowance"])
def test_screening_the_demo_city_equals_deciding_each_subject(
    demo: Catalog, city: ResourceCatalogue, policy_id: str
) -> None:
    catalog = Catalog.load(DEMO_CATALOG, city)
    policy = catalog.policies[policy_id]
    query = screening_query(catalog, [policy], AS_OF)
    exchange = SharingExchange(city, catalog.grants)
    connection = exchange.population_reads(query.reads, duckdb.connect())
    (columns,) = query.policies
    rows = connection.execute(
        f"SELECT subject, {columns.status}, {columns.amount} FROM ({query.sql}) WHERE {columns.screened} ORDER BY subject"
    ).fetchall()
    statuses = {status for _, status, _ in rows}
    assert "eligible" in statuses and "ineligible" in statuses
    version = policy.version_on(AS_OF)
    assert version is not None
    plan = Plan(version, catalog.facts)
    for subject, status, amount in rows[:: max(1, len(rows) // 150)]:
        shared = exchange.read_subject(
            department=policy.department, purpose=policy.purpose, subject=subject, requests=plan.requests
        )
        evaluation = plan.evaluate(plan.gather(shared, {}, AS_OF))
        assert evaluation.eligibility().value == status, subject
        if status == "eligible":
            assert float(amount) == pytest.approx(float(evaluation.amount), abs=0.005), subject  # type: ignore[arg-type]
