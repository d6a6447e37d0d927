"""A small, exactly known city for 免申即享 offers: six enterprises under a budgeted refund, four
people under a monthly allowance.

Refund (year, budget 100,000 元; small before large, then lower layoff rate, then SHA-256 of the code):

| enterprise | size | paid | layoff | refund | place |
|---|---|---|---|---|---|
| SMALL_LOW | 小 | 100,000 | 1% | 60,000 | 1st |
| TIE_A / TIE_B | 中 / 小 | 50,000 | 3% | 30,000 each | 2nd / 3rd by hash |
| LARGE | 大 | 200,000 | 0% | 60,000 | 4th |
| LAYOFFS | 小 | 80,000 | 10% | — | ineligible |
| NO_DATA | 小 | 10,000 | missing | — | unknown |

So the first run offers SMALL_LOW and the first tie (90,000 of 100,000); the second tie and LARGE wait.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from tests.approval.world import citizen, credit

SMALL_LOW = credit("10000001")
TIE_A = credit("10000002")
TIE_B = credit("10000003")
LARGE = credit("10000004")
LAYOFFS = credit("10000005")
NO_DATA = credit("10000006")
ENTERPRISES = [SMALL_LOW, TIE_A, TIE_B, LARGE, LAYOFFS, NO_DATA]
# The tie on every priority key is broken by the SHA-256 of the credit code.
FIRST_TIE, SECOND_TIE = sorted([TIE_A, TIE_B], key=lambda code: hashlib.sha256(code.encode()).hexdigest())

OLD = citizen("310101", "19500101", "011")  # 76, Shanghai hukou: 150 a month
VERY_OLD = citizen("310101", "19400101", "012")  # 86: 180 a month
YOUNG = citizen("310101", "19900101", "013")  # 36: ineligible
ELSEWHERE = citizen("440304", "19450101", "014")  # not screened (hukou elsewhere)
PEOPLE = [OLD, VERY_OLD, YOUNG, ELSEWHERE]

TODAY = dt.date(2026, 11, 23)  # a Monday


def write_city(root: Path) -> None:
    (root / "population").mkdir(parents=True)
    (root / "market").mkdir()
    pq.write_table(
        pa.table(
            {
                "id_number": PEOPLE,
                "name": ["张伟", "李秀英", "王磊", "陈静"],
                "birth_date": pa.array(
                    [dt.date(int(p[6:10]), int(p[10:12]), int(p[12:14])) for p in PEOPLE], pa.date32()
                ),
                "hukou_city": ["310000", "310000", "310000", "440300"],
                "death_date": pa.array([None] * 4, pa.date32()),
            }
        ),
        root / "population" / "person.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "credit_code": ENTERPRISES,
                "name": [
                    "上海低裁员科技有限公司",
                    "上海并列甲贸易有限公司",
                    "上海并列乙贸易有限公司",
                    "上海大型制造股份有限公司",
                    "上海高裁员服务有限公司",
                    "上海缺数据咨询有限公司",
                ],
                "legal_rep_id": [OLD] * 6,
                "status": ["存续"] * 6,
                "size_class": ["小", "中", "小", "大", "小", "小"],
                "ui_paid": [100000.0, 50000.0, 50000.0, 200000.0, 80000.0, 10000.0],
                "layoff_rate": pa.array([0.01, 0.03, 0.03, 0.0, 0.10, None], pa.float64()),
            }
        ),
        root / "market" / "enterprise.parquet",
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
            {"code": "civil_affairs", "name": "市民政局"},
            {"code": "human_resources", "name": "市人力资源和社会保障局"},
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
                "fields": fields(
                    "credit_code:string",
                    "name:string",
                    "legal_rep_id:string",
                    "status:string",
                    "size_class:string",
                    "ui_paid:number",
                    "layoff_rate:number",
                ),
            },
        ],
    }
    (root / "resources.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


FACTS = """
subjects:
  person: {registry: population.person}
  enterprise: {registry: enterprise.registry}
facts:
  - {name: person.birth_date, type: date, label: 出生日期, from: {resource: population.person, field: birth_date}}
  - {name: person.hukou_city, type: string, label: 户籍城市, from: {resource: population.person, field: hukou_city}}
  - {name: person.age, type: integer, label: 年龄, expr: "YEARS_BETWEEN(person.birth_date, decision_date)"}
  - {name: enterprise.status, type: string, label: 登记状态, from: {resource: enterprise.registry, field: status}}
  - {name: enterprise.size_class, type: string, label: 规模, from: {resource: enterprise.registry, field: size_class}}
  - {name: enterprise.ui_paid, type: number, label: 上年度缴费, from: {resource: enterprise.registry, field: ui_paid}}
  - {name: enterprise.layoff_rate, type: number, label: 裁员率, from: {resource: enterprise.registry, field: layoff_rate}}
"""

GRANTS = """
grants:
  - {department: human_resources, purpose: "policy:refund", resource: enterprise.registry, fields: [status, size_class, ui_paid, layoff_rate]}
  - {department: civil_affairs, purpose: "policy:allowance", resource: population.person, fields: [birth_date, hukou_city]}
"""

REFUND = """
id: refund
name: 失业保险稳岗返还
department: human_resources
subject: enterprise
legal_basis: [{document: 人社部发〔2025〕18号, article: 第一条}]
screen: enterprise.status = '存续'
period: year
budget: 100000
priority: 中小微企业先于大型企业；同组裁员率低者在前；再按信用代码的 SHA-256 排序
priority_order:
  - asc: "CASE WHEN enterprise.size_class = '大' THEN 1 ELSE 0 END"
  - asc: enterprise.layoff_rate
confirm_within: {value: 10, unit: 工作日}
versions:
  - effective_from: 2025-04-14
    rules:
      - id: layoff-rate
        when: enterprise.layoff_rate <= 0.055
        legal_basis: {document: 人社部发〔2025〕18号, article: 第一条}
        pass: 上年度裁员率未超过5.5%
        fail: 上年度裁员率超过5.5%
    amount: "ROUND(enterprise.ui_paid * CASE WHEN enterprise.size_class = '大' THEN 0.3 ELSE 0.6 END, 2)"
cases:
  - {name: 小企业60%, date: 2026-11-23, facts: {enterprise.size_class: 小, enterprise.ui_paid: 100000, enterprise.layoff_rate: 0.01}, expect: {outcome: eligible, amount: 60000}}
  - {name: 裁员率过高, date: 2026-11-23, facts: {enterprise.size_class: 小, enterprise.ui_paid: 100000, enterprise.layoff_rate: 0.1}, expect: {outcome: ineligible, failed: [layoff-rate]}}
  - {name: 缺裁员率, date: 2026-11-23, facts: {enterprise.size_class: 小, enterprise.ui_paid: 100000}, expect: {outcome: unknown, unknown: [enterprise.layoff_rate]}}
"""

ALLOWANCE = """
id: allowance
name: 老年综合津贴
department: civil_affairs
subject: person
legal_basis: [{document: 上海市老年综合津贴制度实施办法, article: 第二条}]
screen: person.hukou_city = '310000'
period: month
confirm_within: {value: 30, unit: 自然日}
versions:
  - effective_from: 2016-04-01
    rules:
      - id: age
        when: person.age >= 65
        legal_basis: {document: 上海市老年综合津贴制度实施办法, article: 第二条}
        pass: 年满65周岁
        fail: 未满65周岁
    amount: CASE WHEN person.age >= 80 THEN 180 WHEN person.age >= 70 THEN 150 ELSE 75 END
cases:
  - {name: 76岁, date: 2026-11-23, facts: {person.birth_date: 1950-01-01}, expect: {outcome: eligible, amount: 150}}
  - {name: 36岁, date: 2026-11-23, facts: {person.birth_date: 1990-01-01}, expect: {outcome: ineligible, failed: [age]}}
  - {name: 缺出生日期, date: 2026-11-23, facts: {}, expect: {outcome: unknown, unknown: [person.birth_date]}}
"""


def write_world(data_dir: Path, *, refund: str = REFUND) -> None:
    write_city(data_dir / "city")
    catalog = data_dir / "catalog"
    (catalog / "policies").mkdir(parents=True)
    (catalog / "facts.yaml").write_text(textwrap.dedent(FACTS).lstrip(), encoding="utf-8")
    (catalog / "grants.yaml").write_text(textwrap.dedent(GRANTS).lstrip(), encoding="utf-8")
    (catalog / "policies" / "refund.yaml").write_text(textwrap.dedent(refund).lstrip(), encoding="utf-8")
    (catalog / "policies" / "allowance.yaml").write_text(
        textwrap.dedent(ALLOWANCE).lstrip(), encoding="utf-8"
    )
    (data_dir / "miaopi.json").write_text(
        json.dumps({"version": "test", "city_scale": "test"}), encoding="utf-8"
    )
