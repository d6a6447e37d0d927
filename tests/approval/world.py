"""A small, exactly known world for 秒批 tests: five people, one enterprise, one item.

Every outcome the pipeline can reach has a person who reaches it.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from miaopi.identity.citizen_id import check_character
from miaopi.identity.credit_code import check_character as credit_check
from miaopi.identity.credit_code import organisation_check_character


def citizen(region: str, birth: str, sequence: str) -> str:
    body = region + birth + sequence
    return body + check_character(body)


def credit(org8: str) -> str:
    body = "91440300" + org8 + organisation_check_character(org8)
    return body + credit_check(body)


ALICE = citizen("440304", "19490101", "002")  # 77, Shenzhen hukou, holds a household register: approved
CAROL = citizen("440304", "20000101", "004")  # 26: fails the age rule, which may reject
DAVE = citizen("440304", "19500101", "005")  # on the serious-dishonesty list: credit gate
EVE = citizen("440304", "19510101", "006")  # hukou unknown: unknown fact
FRANK = citizen("310101", "19520101", "007")  # Shanghai hukou: fails a review rule
GHOST = citizen("440304", "19530101", "008")  # not in the population registry
ACME = credit("12345678")  # legal representative: ALICE
ITEM = "440300-MZ-0001"


def write_city(root: Path) -> None:
    (root / "population").mkdir(parents=True)
    (root / "market").mkdir()
    (root / "credit").mkdir()
    (root / "licence").mkdir()
    people = [ALICE, CAROL, DAVE, EVE, FRANK]
    pq.write_table(
        pa.table(
            {
                "id_number": people,
                "name": ["王芳", "陈晨", "刘德", "赵敏", "孙海"],
                "birth_date": pa.array(
                    [dt.date.fromisoformat(f"{p[6:10]}-{p[10:12]}-{p[12:14]}") for p in people], pa.date32()
                ),
                "hukou_city": ["440300", "440300", "440300", None, "310000"],
                "death_date": pa.array([None] * 5, pa.date32()),
            }
        ),
        root / "population" / "person.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "credit_code": [ACME],
                "name": ["深圳市示例科技有限公司"],
                "legal_rep_id": [ALICE],
                "status": ["存续"],
            }
        ),
        root / "market" / "enterprise.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "subject_id": [DAVE],
                "listed_date": pa.array([dt.date(2024, 1, 1)], pa.date32()),
                "removed_date": pa.array([None], pa.date32()),
            }
        ),
        root / "credit" / "dishonest_person.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "holder_id": [ALICE, CAROL],
                "licence_type_name": ["居民户口簿", "居民户口簿"],
                "licence_number": ["HK-0001", "HK-0002"],
                "valid_from": pa.array([dt.date(2000, 1, 1), dt.date(2000, 1, 1)], pa.date32()),
                "valid_to": pa.array([None, dt.date(2020, 1, 1)], pa.date32()),
                "status": ["有效", "有效"],
            }
        ),
        root / "licence" / "person_licence.parquet",
    )

    def fields(*spec: str) -> list[dict[str, str]]:
        return [
            {"name": item.split(":")[0], "type": item.split(":")[1], "label": item.split(":")[0]}
            for item in spec
        ]

    document = {
        "departments": [
            {"code": "public_security", "name": "市公安局"},
            {"code": "market_regulation", "name": "市市场监督管理局"},
            {"code": "credit_office", "name": "市信用办"},
            {"code": "civil_affairs", "name": "市民政局"},
            {"code": "data_bureau", "name": "市政务服务和数据管理局"},
        ],
        "resources": [
            {
                "code": "population.person",
                "name": "人口基本信息",
                "provider": "public_security",
                "sharing": "conditional",
                "subject": "person",
                "key": "id_number",
                "path": "population/person.parquet",
                "fields": fields(
                    "id_number:string",
                    "name:string",
                    "birth_date:date",
                    "hukou_city:string",
                    "death_date:date",
                ),
            },
            {
                "code": "enterprise.registry",
                "name": "市场主体登记信息",
                "provider": "market_regulation",
                "sharing": "unconditional",
                "subject": "enterprise",
                "key": "credit_code",
                "path": "market/enterprise.parquet",
                "fields": fields("credit_code:string", "name:string", "legal_rep_id:string", "status:string"),
            },
            {
                "code": "credit.dishonest_person",
                "name": "严重失信主体名单（自然人）",
                "provider": "credit_office",
                "sharing": "unconditional",
                "subject": "person",
                "key": "subject_id",
                "records": "many",
                "path": "credit/dishonest_person.parquet",
                "fields": fields("subject_id:string", "listed_date:date", "removed_date:date"),
            },
            {
                "code": "licence.person_licence",
                "name": "个人证照",
                "provider": "data_bureau",
                "sharing": "unconditional",
                "subject": "person",
                "key": "holder_id",
                "records": "many",
                "path": "licence/person_licence.parquet",
                "fields": fields(
                    "holder_id:string",
                    "licence_type_name:string",
                    "licence_number:string",
                    "valid_from:date",
                    "valid_to:date",
                    "status:string",
                ),
            },
        ],
    }
    (root / "resources.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


FACTS = """
subjects:
  person: {registry: population.person}
  enterprise: {registry: enterprise.registry}
credit_gate:
  person: person.serious_dishonesty
licences:
  person: licence.person_licence
facts:
  - {name: person.birth_date, type: date, label: 出生日期, from: {resource: population.person, field: birth_date}}
  - {name: person.hukou_city, type: string, label: 户籍城市, from: {resource: population.person, field: hukou_city}}
  - {name: person.age, type: integer, label: 年龄, expr: "YEARS_BETWEEN(person.birth_date, decision_date)"}
  - name: person.serious_dishonesty
    type: boolean
    label: 在严重失信主体名单上
    aggregate:
      resource: credit.dishonest_person
      function: EXISTS
      where: listed_date <= decision_date AND (removed_date IS NULL OR removed_date > decision_date)
  - {name: enterprise.status, type: string, label: 登记状态, from: {resource: enterprise.registry, field: status}}
"""

GRANTS = f"""
grants:
  - {{department: civil_affairs, purpose: "item:{ITEM}", resource: population.person, fields: [birth_date, hukou_city]}}
  - {{department: civil_affairs, purpose: "item:{ITEM}", resource: credit.dishonest_person, fields: [listed_date, removed_date]}}
  - {{department: civil_affairs, purpose: "item:{ITEM}", resource: licence.person_licence, fields: [licence_type_name, licence_number, valid_from, valid_to, status]}}
"""

ITEM_FILE = f"""
code: "{ITEM}"
name: 老年人优待证办理
item_type: 公共服务
department: civil_affairs
subject: person
legal_basis: [{{document: 深圳市老年人优待办法, article: 第三条}}]
statutory_limit: {{value: 20, unit: 工作日}}
promised_limit: {{value: 5, unit: 工作日}}
case_type: 承诺件
automation: {{approve: true, reject: true}}
result: {{name: 老年人优待证}}
materials:
  - {{name: 身份证明, required: true, source: shared}}
  - {{name: 居民户口簿, required: true, source: issued, licence_type: 居民户口簿, min_trust_level: A}}
  - {{name: 近期照片, required: true, source: applicant}}
form:
  - {{name: phone, type: string, label: 联系电话, required: true}}
  - {{name: delivery, type: string, label: 领取方式, required: false, choices: [邮寄, 自取]}}
versions:
  - effective_from: 2020-01-01
    rules:
      - id: age
        when: person.age >= 60
        legal_basis: {{document: 深圳市老年人优待办法, article: 第二条}}
        pass: 年满60周岁
        fail: 未满60周岁，不符合办理条件
        on_fail: reject
      - id: hukou
        when: person.hukou_city = '440300'
        legal_basis: {{document: 深圳市老年人优待办法, article: 第三条}}
        pass: 具有本市户籍
        fail: 非本市户籍，需人工核实居住情况
        on_fail: review
cases:
  - {{name: 符合, date: 2026-11-22, facts: {{person.birth_date: 1949-01-01, person.hukou_city: "440300"}}, expect: {{outcome: approved}}}}
  - {{name: 年龄不足, date: 2026-11-22, facts: {{person.birth_date: 2000-01-01, person.hukou_city: "440300"}}, expect: {{outcome: rejected}}}}
  - {{name: 户籍未知, date: 2026-11-22, facts: {{person.birth_date: 1949-01-01}}, expect: {{outcome: review, unknown: [person.hukou_city]}}}}
"""


def write_world(data_dir: Path) -> None:
    """A complete, initialised data directory (city, catalogue, marker); the store is migrated elsewhere."""
    write_city(data_dir / "city")
    catalog = data_dir / "catalog"
    (catalog / "items").mkdir(parents=True)
    (catalog / "facts.yaml").write_text(textwrap.dedent(FACTS).lstrip(), encoding="utf-8")
    (catalog / "grants.yaml").write_text(textwrap.dedent(GRANTS).lstrip(), encoding="utf-8")
    (catalog / "items" / "elderly-card.yaml").write_text(
        textwrap.dedent(ITEM_FILE).lstrip(), encoding="utf-8"
    )
    (data_dir / "miaopi.json").write_text(
        json.dumps({"version": "test", "city_scale": "test"}), encoding="utf-8"
    )
