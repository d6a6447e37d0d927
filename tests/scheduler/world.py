"""The approval tests' small world plus a renewal item under 行政许可法 §50 (deemed approval)."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.approval.world import ALICE, CAROL, EVE, write_world
from tests.clock.conftest import PLAUSIBLE_2027

RENEWAL = "440300-SC-0001"
PERMIT = "摊贩经营许可证"
ALICE_PERMIT_EXPIRY = dt.date(2026, 12, 15)  # 23 days after the decision date: renewal goes to review
CAROL_PERMIT_EXPIRY = dt.date(2027, 6, 30)  # far enough: renewed automatically
EVE_PERMIT_EXPIRY = dt.date(2026, 12, 10)

RENEWAL_FACT = """
  - name: person.permit_expiry
    type: date
    label: 摊贩经营许可证有效期至
    aggregate: {resource: licence.person_licence, function: MAX, value: valid_to, where: "licence_type_name = '摊贩经营许可证' AND status = '有效'"}
"""

RENEWAL_GRANTS = f"""
  - {{department: market_regulation, purpose: "item:{RENEWAL}", resource: licence.person_licence, fields: [licence_type_name, valid_to, status, licence_number, valid_from]}}
  - {{department: market_regulation, purpose: "item:{RENEWAL}", resource: credit.dishonest_person, fields: [listed_date, removed_date]}}
"""

RENEWAL_ITEM = f"""
code: "{RENEWAL}"
name: 摊贩经营许可延续
item_type: 行政许可
department: market_regulation
subject: person
legal_basis: [{{document: 中华人民共和国行政许可法, article: 第五十条}}]
statutory_limit: {{value: 20, unit: 工作日}}
promised_limit: {{value: 5, unit: 工作日}}
case_type: 承诺件
automation: {{approve: true, reject: false}}
deemed_approval: {{expiry_fact: person.permit_expiry}}
reminder_days: 2
result: {{name: 摊贩经营许可证（延续）}}
versions:
  - effective_from: 2020-01-01
    rules:
      - id: thirty-days
        when: DAYS_BETWEEN(decision_date, person.permit_expiry) >= 30
        legal_basis: {{document: 中华人民共和国行政许可法, article: 第五十条第一款}}
        pass: 在有效期届满30日前提出延续申请
        fail: 距有效期届满不足30日，需人工确认
cases:
  - {{name: 提前申请, date: 2026-11-22, facts: {{person.permit_expiry: 2027-06-30}}, expect: {{outcome: approved}}}}
  - {{name: 临近到期, date: 2026-11-22, facts: {{person.permit_expiry: 2026-12-15}}, expect: {{outcome: review}}}}
  - {{name: 无许可数据, date: 2026-11-22, facts: {{}}, expect: {{outcome: review, unknown: [person.permit_expiry]}}}}
"""


def write_renewal_world(data_dir: Path) -> None:
    write_world(data_dir)
    # Deadlines extended into 2027 need next year's calendar (invented test data, see tests/clock).
    (data_dir / "calendar.yaml").write_text(PLAUSIBLE_2027, encoding="utf-8")
    licences = data_dir / "city" / "licence" / "person_licence.parquet"
    table = pq.read_table(licences).to_pylist()
    for holder, expiry in (
        (ALICE, ALICE_PERMIT_EXPIRY),
        (CAROL, CAROL_PERMIT_EXPIRY),
        (EVE, EVE_PERMIT_EXPIRY),
    ):
        table.append(
            {
                "holder_id": holder,
                "licence_type_name": PERMIT,
                "licence_number": f"TF-{holder[-4:]}",
                "valid_from": dt.date(2022, 1, 1),
                "valid_to": expiry,
                "status": "有效",
            }
        )
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(licences)), licences)
    catalog = data_dir / "catalog"
    with (catalog / "facts.yaml").open("a", encoding="utf-8") as facts:
        facts.write(RENEWAL_FACT.lstrip("\n"))
    with (catalog / "grants.yaml").open("a", encoding="utf-8") as grants:
        grants.write(RENEWAL_GRANTS.lstrip("\n"))
    (catalog / "items" / "permit-renewal.yaml").write_text(
        textwrap.dedent(RENEWAL_ITEM).lstrip(), encoding="utf-8"
    )
