"""Triggers as catalogue files: loaded and checked by the catalogue loader, their cases run by
``miaopi catalog test``, problems named with file and line by ``miaopi catalog check``."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from miaopi.catalog import DEMO_CATALOG, Catalog, CatalogError, run_all
from miaopi.catalog.triggers import TriggerPlan
from miaopi.city import builtin_resource_catalogue
from miaopi.cli import app

GOOD = """
id: shop-renamed
name: 测试触发器
events: [enterprise.name_changed]
when: enterprise.holds_construction_qualification AND event.change_date >= DATE '2026-01-01'
prepare: {item: "370200-ZJ-0001"}
form: {confirmed: "TRUE"}
cases:
  - {name: 触发, date: 2026-11-22, facts: {enterprise.holds_construction_qualification: true, event.change_date: 2026-11-20}, expect: {outcome: triggered}}
  - {name: 不触发, date: 2026-11-22, facts: {enterprise.holds_construction_qualification: false, event.change_date: 2026-11-20}, expect: {outcome: not_triggered}}
  - {name: 未知, date: 2026-11-22, facts: {event.change_date: 2026-11-20}, expect: {outcome: unknown, unknown: [enterprise.holds_construction_qualification]}}
"""
GRANT = (
    '  - {department: housing_construction, purpose: "trigger:shop-renamed", resource: licence.enterprise_licence, '
    "fields: [licence_type_name, licence_number, valid_from, valid_to, status]}\n"
)


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(DEMO_CATALOG, root)
    with (root / "grants.yaml").open("a", encoding="utf-8") as grants:
        grants.write(GRANT)
    return root


def _problems(root: Path, text: str) -> list[str]:
    (root / "triggers" / "extra.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(CatalogError) as raised:
        Catalog.load(root, builtin_resource_catalogue())
    return [f"{Path(p.file).name}:{p.line}: {p.message}" for p in raised.value.problems]


def test_the_demo_triggers_load_and_their_cases_pass() -> None:
    catalog = Catalog.load(DEMO_CATALOG, builtin_resource_catalogue())
    assert {
        "construction-qualification-change",
        "hygiene-licence-renewal",
        "shanghai-elderly-allowance-at-65",
    } <= set(catalog.triggers)
    assert [t.id for t in catalog.triggers_for("licence.expiring")] == [
        "hygiene-licence-renewal",
        "private-nonenterprise-certificate-renewal",
        "social-group-certificate-renewal",
    ]
    results = [r for r in run_all(catalog) if r.file.endswith(".yaml") and "/triggers/" in r.file]
    assert len(results) >= 24 and all(r.passed for r in results)


def test_a_good_trigger_loads_and_evaluates(catalogue: Path) -> None:
    (catalogue / "triggers" / "extra.yaml").write_text(GOOD, encoding="utf-8")
    catalog = Catalog.load(catalogue, builtin_resource_catalogue())
    trigger = catalog.triggers["shop-renamed"]
    plan = TriggerPlan(trigger, catalog.facts)
    facts = {"enterprise.holds_construction_qualification": True, "event.change_date": dt.date(2025, 12, 31)}
    assert plan.evaluate(plan.case_inputs(facts, dt.date(2026, 11, 22))).outcome == "not_triggered"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("events: [enterprise.name_changed]", "events: [enterprise.teleported]"),
            "未知的事件类型：enterprise.teleported",
        ),
        (("AND event.change_date", "AND event.no_such_field"), "触发条件有误"),
        (("enterprise.holds_construction_qualification AND", "enterprise.no_such_fact AND"), "触发条件有误"),
        (('form: {confirmed: "TRUE"}', "form: {}"), "没有预填表达式"),
        (('form: {confirmed: "TRUE"}', "form: {confirmed: \"'是'\"}"), "预填表达式有误"),
        (('form: {confirmed: "TRUE"}', 'form: {confirmed: "TRUE", colour: "1"}'), "没有表单字段“colour”"),
        (
            ('prepare: {item: "370200-ZJ-0001"}', 'prepare: {item: "000000-XX-0000"}'),
            "没有item “000000-XX-0000”",
        ),
        (('prepare: {item: "370200-ZJ-0001"}', "prepare: {policy: shanghai-elderly-allowance}"), "主体"),
        (
            ("events: [enterprise.name_changed]", "events: [enterprise.name_changed, person.died]"),
            "同一类主体",
        ),
        (("id: shop-renamed", "id: shop-renamed\nrespond_within: 0"), "respond_within"),
        (("expect: {outcome: triggered}", "expect: {outcome: fired}"), "expect.outcome"),
    ],
)
def test_check_names_each_problem_with_file_and_line(
    catalogue: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    problems = _problems(catalogue, GOOD.replace(old, new, 1))
    assert any(message in problem and problem.startswith("extra.yaml:") for problem in problems), problems


def test_a_read_without_a_grant_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(DEMO_CATALOG, root)
    problems = _problems(root, GOOD)
    assert any("缺少共享授权" in p and "trigger:shop-renamed" in p for p in problems), problems


def test_catalog_commands_cover_triggers(catalogue: Path) -> None:
    runner = CliRunner()
    (catalogue / "triggers" / "extra.yaml").write_text(GOOD, encoding="utf-8")
    checked = runner.invoke(app, ["catalog", "check", str(catalogue)])
    assert checked.exit_code == 0, checked.output
    assert "11 个触发器" in checked.output
    tested = runner.invoke(app, ["catalog", "test", str(catalogue)])
    assert tested.exit_code == 0 and "shop-renamed · 触发" in tested.output
    wrong = GOOD.replace("expect: {outcome: not_triggered}", "expect: {outcome: triggered}")
    (catalogue / "triggers" / "extra.yaml").write_text(wrong, encoding="utf-8")
    failed = runner.invoke(app, ["catalog", "test", str(catalogue)])
    assert failed.exit_code == 1
    assert "结果应为 triggered，实际为 not_triggered" in failed.output
    assert failed.output.strip().endswith("1 failed")
