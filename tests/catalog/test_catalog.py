import datetime as dt
from pathlib import Path

import duckdb
import pytest

from miaopi.catalog import Catalog, CatalogError, Outcome, Plan, run_all, screening_query
from miaopi.sharing import GrantRegistry, ResourceCatalogue, SharingExchange
from tests.catalog.conftest import ITEM, POLICY, write_test_catalog
from tests.sharing.conftest import ALICE, BOB


def load(root: Path, resources: ResourceCatalogue) -> Catalog:
    return Catalog.load(root, resources)


def problems_of(root: Path, resources: ResourceCatalogue) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        Catalog.load(root, resources)
    return [
        f"{Path(problem.file).name}:{problem.line}: {problem.message}" for problem in caught.value.problems
    ]


def test_catalogue_loads_items_policies_and_facts(catalog_dir: Path, resources: ResourceCatalogue) -> None:
    catalog = load(catalog_dir, resources)
    item = catalog.item("310000-civil-001")
    assert item.name == "居民卡办理" and item.auto_reject and str(item.statutory_limit) == "20个工作日"
    assert [rule.id for rule in item.versions[0].rules] == ["lives-here", "reason-given"]
    assert item.versions[0].rules[0].legal_basis.document == "示例条例"
    assert catalog.policies["elderly"].period == "month"
    assert catalog.facts.facts["person.age"].kind == "derived"


def test_version_in_force_by_date_and_content_hash(catalog_dir: Path, resources: ResourceCatalogue) -> None:
    policy = load(catalog_dir, resources).policies["elderly"]
    old, new = policy.versions
    assert policy.version_on(dt.date(2025, 12, 31)) is old
    assert policy.version_on(dt.date(2026, 1, 1)) is new
    assert policy.version_on(dt.date(2010, 1, 1)) is None
    assert old.content_hash != new.content_hash and new.content_hash.startswith("sha256:")
    again = load(catalog_dir, resources).policies["elderly"]
    assert again.versions[1].content_hash == new.content_hash


def test_content_hash_changes_when_a_rule_changes(tmp_path: Path, resources: ResourceCatalogue) -> None:
    first = load(write_test_catalog(tmp_path / "a"), resources).policies["elderly"].versions[1].content_hash
    changed = POLICY.replace(
        "person.age >= 65\n        legal_basis: {document: 实施办法, article: 第三条}\n        pass: 年满65周岁\n        fail: 未满65周岁\n    amount: CASE WHEN person.age >= 100",
        "person.age >= 66\n        legal_basis: {document: 实施办法, article: 第三条}\n        pass: 年满65周岁\n        fail: 未满65周岁\n    amount: CASE WHEN person.age >= 100",
    )
    assert changed != POLICY
    second = load(write_test_catalog(tmp_path / "b", **{"policies/elderly.yaml": changed}), resources)
    assert second.policies["elderly"].versions[1].content_hash != first


def test_cases_beside_the_rules_pass(catalog_dir: Path, resources: ResourceCatalogue) -> None:
    results = run_all(load(catalog_dir, resources))
    assert len(results) == 8
    assert all(result.passed for result in results), [result.problems for result in results]


def test_a_wrong_expectation_is_reported(tmp_path: Path, resources: ResourceCatalogue) -> None:
    wrong = ITEM.replace("expect: {outcome: approved}", "expect: {outcome: rejected}")
    catalog = load(write_test_catalog(tmp_path / "c", **{"items/resident-card.yaml": wrong}), resources)
    failed = [result for result in run_all(catalog) if not result.passed]
    assert len(failed) == 1
    assert "结果应为 rejected，实际为 approved" in failed[0].problems[0]


def test_explanation_names_rule_result_message_basis_and_facts(
    catalog_dir: Path, resources: ResourceCatalogue
) -> None:
    catalog = load(catalog_dir, resources)
    policy = catalog.policies["elderly"]
    plan = Plan(policy.versions[1], catalog.facts)
    evaluation = plan.evaluate(
        {"decision_date": dt.date(2026, 11, 22), "person.hukou_city": "310000", "person.birth_date": None}
    )
    assert evaluation.eligibility() is Outcome.UNKNOWN
    explained = {entry["rule"]: entry for entry in evaluation.explain()}
    assert explained["hukou"] == {
        "rule": "hukou",
        "result": "pass",
        "message": "具有本市户籍",
        "legal_basis": "《实施办法》第三条",
        "on_fail": "review",
        "facts": {"person.hukou_city": "310000"},
    }
    assert explained["age"]["result"] == "unknown"
    assert explained["age"]["facts"] == {
        "person.birth_date": None,
        "decision_date": "2026-11-22",
        "person.age": None,
    }
    assert "person.birth_date" in explained["age"]["message"]
    assert evaluation.missing_facts() == ["person.birth_date", "person.age"]


def test_one_case_from_shared_data(catalog_dir: Path, resources: ResourceCatalogue) -> None:
    catalog = load(catalog_dir, resources)
    item = catalog.item("310000-civil-001")
    version = item.version_on(dt.date(2026, 11, 22))
    assert version is not None
    plan = Plan(version, catalog.facts, catalog.form_facts(item))
    assert plan.requests == {"population.person": ("hukou_city",), "population.residence": ("permit_city",)}
    exchange = SharingExchange(resources, catalog.grants)
    shared = exchange.read_subject(
        department=item.department, purpose=item.purpose, subject=ALICE, requests=plan.requests
    )
    evaluation = plan.evaluate(plan.gather(shared, {"reason": "工作"}, dt.date(2026, 11, 22)))
    assert evaluation.item_outcome(item) is Outcome.APPROVED  # Shanghai hukou, but a Shenzhen permit
    shared = exchange.read_subject(
        department=item.department, purpose=item.purpose, subject=BOB, requests=plan.requests
    )
    evaluation = plan.evaluate(plan.gather(shared, {"reason": "x"}, dt.date(2026, 11, 22)))
    assert evaluation.item_outcome(item) is Outcome.REVIEW  # reason too short: a review rule failed


def test_screening_query_agrees_with_one_case_evaluation(
    catalog_dir: Path, resources: ResourceCatalogue
) -> None:
    catalog = load(catalog_dir, resources)
    policy = catalog.policies["elderly"]
    as_of = dt.date(2026, 11, 22)
    query = screening_query(catalog, [policy], as_of)
    exchange = SharingExchange(resources, catalog.grants)
    connection = exchange.population_reads(query.reads, duckdb.connect())
    (columns,) = query.policies
    rows = connection.execute(
        f"SELECT subject, {columns.status}, {columns.amount} FROM ({query.sql}) ORDER BY subject"
    ).fetchall()
    plan = Plan(policy.version_on(as_of), catalog.facts)  # type: ignore[arg-type]
    for subject, status, amount in rows:
        shared = exchange.read_subject(
            department=policy.department, purpose=policy.purpose, subject=subject, requests=plan.requests
        )
        evaluation = plan.evaluate(plan.gather(shared, {}, as_of))
        assert evaluation.eligibility().value == status
        assert (evaluation.amount if status == "eligible" else None) == amount
    assert [row[1] for row in rows] == ["eligible", "ineligible"]


GRANTLESS = "grants: []\n"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {
                "items/resident-card.yaml": ITEM.replace(
                    "person.hukou_city = '440300' OR", "person.hukuo_city = '440300' OR"
                )
            },
            "resident-card.yaml:19: 规则“lives-here”：未声明的事实 person.hukuo_city",
        ),
        (
            {
                "items/resident-card.yaml": ITEM.replace(
                    "LENGTH(form.reason) >= 2", "LENGTH(read_csv('/etc/passwd')) >= 2"
                )
            },
            "resident-card.yaml:25: 规则“reason-given”：未知函数 READ_CSV",
        ),
        (
            {"items/resident-card.yaml": ITEM.replace("LENGTH(form.reason) >= 2", "(SELECT 1) = 1")},
            "resident-card.yaml:25: 规则“reason-given”：不允许子查询",
        ),
        (
            {"items/resident-card.yaml": ITEM.replace("LENGTH(form.reason) >= 2", "form.reason + 1")},
            "resident-card.yaml:25: 规则“reason-given”：类型错误",
        ),
        (
            {"items/resident-card.yaml": ITEM.replace("on_fail: reject", "on_fail: maybe")},
            "resident-card.yaml:23: on_fail 应为 reject 或 review",
        ),
        (
            {"items/resident-card.yaml": ITEM.replace("name: 居民卡办理\n", "")},
            "resident-card.yaml:1: 缺少字段“name”",
        ),
        ({"items/resident-card.yaml": ITEM + "  - oops: [\n"}, "resident-card.yaml:44: YAML 语法错误"),
        (
            {"policies/elderly.yaml": POLICY.replace("effective_to: 2025-12-31", "effective_to: 2026-03-01")},
            "elderly.yaml:24: 版本 2026-01-01 与版本 2016-04-01 的生效期重叠",
        ),
        (
            {"grants.yaml": GRANTLESS},
            "缺少共享授权：部门“civil_affairs”为“item:310000-civil-001”读取资源“population.person”的字段 hukou_city",
        ),
        (
            {
                "facts.yaml": "facts:\n  - {name: person.x, type: integer, expr: person.y + 1}\n  - {name: person.y, type: integer, expr: person.x + 1}\n"
            },
            "facts.yaml:2: 事实“person.x”的定义循环引用了自身",
        ),
        (
            {
                "facts.yaml": "facts:\n  - {name: person.x, type: integer, from: {resource: population.person, field: nope}}\n"
            },
            "facts.yaml:2: 事实“person.x”绑定的字段“nope”不在资源“population.person”中",
        ),
    ],
)
def test_static_errors_name_file_line_and_reason(
    tmp_path: Path, resources: ResourceCatalogue, overrides: dict[str, str], expected: str
) -> None:
    problems = problems_of(write_test_catalog(tmp_path / "bad", **overrides), resources)
    assert any(expected in problem for problem in problems), problems


def test_fewer_than_three_cases_is_an_error(tmp_path: Path, resources: ResourceCatalogue) -> None:
    head, _cases = ITEM.split("cases:")
    problems = problems_of(
        write_test_catalog(tmp_path / "few", **{"items/resident-card.yaml": head}), resources
    )
    assert any("至少需要3个用例" in problem for problem in problems)


def test_unused_grants_fixture_is_sane(resources: ResourceCatalogue) -> None:
    assert GrantRegistry(resources).grants() == []
