"""A small catalogue over the sharing tests' resources: one item and one policy about people."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from miaopi.sharing import ResourceCatalogue
from tests.sharing.conftest import write_catalogue

FACTS = """
subjects:
  person: {registry: population.person}
facts:
  - {name: person.birth_date, type: date, label: 出生日期, from: {resource: population.person, field: birth_date}}
  - {name: person.hukou_city, type: string, label: 户籍城市, from: {resource: population.person, field: hukou_city}}
  - {name: person.permit_city, type: string, label: 居住证城市, from: {resource: population.residence, field: permit_city}}
  - name: person.age
    type: integer
    label: 年龄（周岁）
    expr: YEARS_BETWEEN(person.birth_date, decision_date)
"""

GRANTS = """
grants:
  - {department: civil_affairs, purpose: "policy:elderly", resource: population.person, fields: [birth_date, hukou_city]}
  - {department: civil_affairs, purpose: "item:310000-civil-001", resource: population.person, fields: [hukou_city]}
  - {department: civil_affairs, purpose: "item:310000-civil-001", resource: population.residence, fields: [permit_city]}
"""

POLICY = """
id: elderly
name: 老年综合津贴
department: civil_affairs
subject: person
legal_basis:
  - {document: 上海市老年综合津贴制度实施办法, article: 第三条}
screen: person.hukou_city IS NOT NULL
period: month
versions:
  - effective_from: 2016-04-01
    effective_to: 2025-12-31
    rules:
      - id: hukou
        when: person.hukou_city = '310000'
        legal_basis: {document: 实施办法, article: 第三条}
        pass: 具有本市户籍
        fail: 不具有本市户籍
      - id: age
        when: person.age >= 65
        legal_basis: {document: 实施办法, article: 第三条}
        pass: 年满65周岁
        fail: 未满65周岁
    amount: CASE WHEN person.age >= 80 THEN 180 WHEN person.age >= 70 THEN 150 ELSE 75 END
  - effective_from: 2026-01-01
    rules:
      - id: hukou
        when: person.hukou_city = '310000'
        legal_basis: {document: 实施办法, article: 第三条}
        pass: 具有本市户籍
        fail: 不具有本市户籍
      - id: age
        when: person.age >= 65
        legal_basis: {document: 实施办法, article: 第三条}
        pass: 年满65周岁
        fail: 未满65周岁
    amount: CASE WHEN person.age >= 100 THEN 600 WHEN person.age >= 90 THEN 350 WHEN person.age >= 80 THEN 180 WHEN person.age >= 70 THEN 150 ELSE 75 END
cases:
  - name: 沪籍76岁
    date: 2026-11-22
    facts: {person.hukou_city: "310000", person.birth_date: 1950-01-01}
    expect: {outcome: eligible, amount: 150}
  - name: 外省户籍
    date: 2026-11-22
    facts: {person.hukou_city: "440300", person.birth_date: 1950-01-01}
    expect: {outcome: ineligible, failed: [hukou]}
  - name: 缺出生日期
    date: 2026-11-22
    facts: {person.hukou_city: "310000"}
    expect: {outcome: unknown, unknown: [person.birth_date]}
  - name: 百岁老人（2026版）
    date: 2026-11-22
    facts: {person.hukou_city: "310000", person.birth_date: 1920-05-01}
    expect: {outcome: eligible, amount: 600}
  - name: 百岁老人（2025版无此档）
    date: 2025-11-22
    facts: {person.hukou_city: "310000", person.birth_date: 1920-05-01}
    expect: {outcome: eligible, amount: 180}
"""

ITEM = """
code: "310000-civil-001"
name: 居民卡办理
item_type: 公共服务
department: civil_affairs
subject: person
legal_basis: [{document: 示例条例, article: 第一条}]
statutory_limit: {value: 20, unit: 工作日}
promised_limit: {value: 1, unit: 工作日}
case_type: 承诺件
automation: {approve: true, reject: true}
materials:
  - {name: 居住证, required: true, source: shared}
form:
  - {name: reason, type: string, label: 申请理由, required: true}
versions:
  - effective_from: 2020-01-01
    rules:
      - id: lives-here
        when: person.hukou_city = '440300' OR person.permit_city = '440300'
        legal_basis: {document: 示例条例, article: 第二条}
        pass: 本市户籍或持有本市居住证
        fail: 既无本市户籍也无本市居住证
        on_fail: reject
      - id: reason-given
        when: LENGTH(form.reason) >= 2
        legal_basis: {document: 示例条例, article: 第三条}
        pass: 已说明理由
        fail: 理由过短，需人工核实
        on_fail: review
cases:
  - name: 本市户籍
    date: 2026-01-01
    facts: {person.hukou_city: "440300", form.reason: 工作需要}
    expect: {outcome: approved}
  - name: 外地无居住证
    date: 2026-01-01
    facts: {person.hukou_city: "310000", person.permit_city: "110000", form.reason: 工作需要}
    expect: {outcome: rejected, failed: [lives-here]}
  - name: 居住证缺失
    date: 2026-01-01
    facts: {person.hukou_city: "310000", form.reason: 工作需要}
    expect: {outcome: review, unknown: [person.permit_city]}
"""


def write_test_catalog(root: Path, **overrides: str) -> Path:
    files = {
        "facts.yaml": FACTS,
        "grants.yaml": GRANTS,
        "policies/elderly.yaml": POLICY,
        "items/resident-card.yaml": ITEM,
    }
    files.update(overrides)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


@pytest.fixture
def resources(tmp_path: Path) -> ResourceCatalogue:
    return ResourceCatalogue.load(write_catalogue(tmp_path / "city"))


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    return write_test_catalog(tmp_path / "catalog")
