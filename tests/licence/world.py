"""A small world for licences: the 秒批 test city, an item that issues 老年人优待证 and an item that
accepts it as a material (免提交)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.approval.world import FACTS, GRANTS, ITEM, ITEM_FILE, write_world

CARD_ITEM = ITEM  # 老年人优待证办理: issues the licence
BUS_ITEM = "440300-MZ-0002"  # 老年人免费乘车: accepts it
CARD = "老年人优待证"
ISSUER_CODE = "114403000000101105"

LICENCE_TYPES = f"""
types:
  - name: {CARD}
    code: "{ISSUER_CODE}009"
    credential_type: SeniorCitizenCard
    subject: person
    department: civil_affairs
    issuer: {{name: 市民政局, code: "{ISSUER_CODE}"}}
    validity: {{years: 5}}
    holder_name: person.name
    fields:
      - {{label: 姓名, fact: person.name}}
      - {{label: 领取方式, fact: form.delivery}}
"""

BUS_ITEM_FILE = f"""
code: "{BUS_ITEM}"
name: 老年人免费乘坐公交
item_type: 公共服务
department: civil_affairs
subject: person
legal_basis: [{{document: 深圳市老年人优待办法, article: 第五条}}]
statutory_limit: {{value: 20, unit: 工作日}}
promised_limit: {{value: 5, unit: 工作日}}
case_type: 即办件
automation: {{approve: true, reject: false}}
result: {{name: 老年人乘车资格}}
materials:
  - {{name: {CARD}, required: true, source: issued, licence_type: {CARD}, min_trust_level: A}}
versions:
  - effective_from: 2020-01-01
    rules:
      - id: age
        when: person.age >= 65
        legal_basis: {{document: 深圳市老年人优待办法, article: 第五条}}
        pass: 年满65周岁
        fail: 未满65周岁
cases:
  - {{name: 符合, date: 2026-11-22, facts: {{person.birth_date: 1949-01-01}}, expect: {{outcome: approved}}}}
  - {{name: 不足, date: 2026-11-22, facts: {{person.birth_date: 1970-01-01}}, expect: {{outcome: review}}}}
  - {{name: 未知, date: 2026-11-22, facts: {{}}, expect: {{outcome: review, unknown: [person.birth_date]}}}}
"""

EXTRA_FACTS = """
  - {name: person.name, type: string, label: 姓名, from: {resource: population.person, field: name}}
"""

EXTRA_GRANTS = f"""
  - {{department: civil_affairs, purpose: "item:{CARD_ITEM}", resource: population.person, fields: [name]}}
  - {{department: civil_affairs, purpose: "item:{BUS_ITEM}", resource: population.person, fields: [birth_date]}}
  - {{department: civil_affairs, purpose: "item:{BUS_ITEM}", resource: credit.dishonest_person, fields: [listed_date, removed_date]}}
  - {{department: civil_affairs, purpose: "item:{BUS_ITEM}", resource: licence.person_licence, fields: [licence_type_name, licence_number, valid_from, valid_to, status]}}
"""


def write_licence_world(data_dir: Path, licence_types: str = LICENCE_TYPES) -> None:
    write_world(data_dir)
    catalog = data_dir / "catalog"
    (catalog / "facts.yaml").write_text(
        textwrap.dedent(FACTS).lstrip() + EXTRA_FACTS.lstrip("\n"), encoding="utf-8"
    )
    (catalog / "grants.yaml").write_text(
        textwrap.dedent(GRANTS).lstrip() + EXTRA_GRANTS.lstrip("\n"), encoding="utf-8"
    )
    (catalog / "items" / "elderly-card.yaml").write_text(
        textwrap.dedent(ITEM_FILE)
        .lstrip()
        .replace("result: {name: 老年人优待证}", f"result: {{licence_type: {CARD}, name: {CARD}}}"),
        encoding="utf-8",
    )
    (catalog / "items" / "bus.yaml").write_text(textwrap.dedent(BUS_ITEM_FILE).lstrip(), encoding="utf-8")
    (catalog / "licence_types.yaml").write_text(textwrap.dedent(licence_types).lstrip(), encoding="utf-8")
