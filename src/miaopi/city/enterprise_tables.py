"""Tables whose rows belong to market entities, generated for a chunk of consecutive entity rows.

Every table comes out sorted by the entity's credit code because entity rows are in code order and
each table lists an entity's records together (by year or date within the entity)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from miaopi.city.catalogue import Resource, fields
from miaopi.city.dates import TODAY, year_start, ymd
from miaopi.city.draw import Ints, Stream, child_rows, expand
from miaopi.city.enterprises import (
    INDUSTRY_CODES,
    INDUSTRY_NAMES,
    MEDIAN_CAPITAL,
    SIZE_CLASSES,
    STATUSES,
    TYPE_NAMES,
    Entities,
    Registry,
)
from miaopi.city.population import Population
from miaopi.city.records import (
    LICENCE_FIELDS,
    CreditRates,
    Subjects,
    credit_tables,
    licences,
)
from miaopi.city.text import join, pick
from miaopi.city.vocab import ENTERPRISE_LICENCE_TYPES, INDUSTRY_INDEX, REGIONS
from miaopi.city.writer import Columns

FIRST_YEAR, LAST_YEAR = 2021, 2025  # complete years of contributions and tax filings
CHANGE_ITEMS = ("名称", "法定代表人", "住所", "经营范围")
_CHANGE_RATES = (0.08, 0.12, 0.15, 0.2)
TAX_GRADES = ("A", "B", "M", "C", "D")
_REGION_CODES = pa.array([r.code for r in REGIONS])
_TECH = np.array([INDUSTRY_INDEX[c] for c in ("3973", "3976", "3612", "6513", "6520", "7519")])
_MEDIAN_REVENUE = np.array([8e8, 8e7, 8e6, 8e5])
_LAYOFF_BANDS = np.array([[0.0, 0.03], [0.03, 0.08], [0.08, 0.15], [0.15, 0.25], [0.25, 0.4]])
# Layoff-rate bands by employer size: larger employers cluster below the 5.5% line, small ones
# (≤30 insured) spread around the 20% line that applies to them.
_LAYOFF_WEIGHTS = np.array([[90.0, 8.0, 1.5, 0.4, 0.1], [50.0, 15.0, 10.0, 15.0, 10.0]])
_MAX_CLAIMS = 4000


class EnterpriseChunk:
    """A chunk of consecutive entity rows and what several tables derive from them."""

    def __init__(self, seed: int, population: Population, registry: Registry, rows: Ints) -> None:
        self.seed = seed
        self.population = population
        self.registry = registry
        self.entities: Entities = registry.entities(rows)

    def stream(self, table: str) -> Stream:
        return Stream(self.seed, table)

    @cached_property
    def codes(self) -> pa.Array:
        return self.entities.credit_codes()

    @cached_property
    def names(self) -> pa.Array:
        return self.registry.names(self.entities)

    @cached_property
    def addresses(self) -> pa.Array:
        return self.registry.addresses(self.entities)

    @cached_property
    def legal_reps(self) -> Ints:
        return self.registry.legal_reps(self.entities)

    @cached_property
    def subjects(self) -> Subjects:
        e = self.entities
        return Subjects(
            "enterprise", e.rows, self.codes, self.names, self.registry.city_names(e), e.founded, e.last_day
        )

    @cached_property
    def years(self) -> dict[str, Ints]:
        """Entity-years of 2021–2025 in which the entity existed, with the months it existed."""
        e = self.entities
        first = ymd(e.founded)
        last = ymd(e.last_day)
        first_month = first[0] * 12 + first[1] - 1
        last_month = last[0] * 12 + last[1] - 1
        count = np.clip(np.minimum(last[0], LAST_YEAR) - np.maximum(first[0], FIRST_YEAR) + 1, 0, None)
        position, ordinal = expand(count)
        year = np.maximum(first[0][position], FIRST_YEAR) + ordinal
        months = (
            np.minimum(last_month[position], year * 12 + 11)
            - np.maximum(first_month[position], year * 12)
            + 1
        )
        return {
            "position": position,
            "year": year,
            "months": months,
            "rows": child_rows(e.rows[position], year - 2000, 32),
        }

    @cached_property
    def insured_years(self) -> dict[str, Ints]:
        y = self.years
        keep = self.entities.insured[y["position"]]
        result = {name: values[keep] for name, values in y.items()}
        s = self.stream("social_insurance.employer_year")
        rows = result["rows"]
        drift = np.exp(0.08 * s.normal("drift", rows) + 0.04 * (result["year"] - LAST_YEAR))
        result["headcount"] = np.maximum(1, np.round(self.entities.staff[result["position"]] * drift)).astype(
            np.int64
        )
        return result


def registry(c: EnterpriseChunk) -> Columns:
    e, s = c.entities, c.stream("enterprise.registry")
    capital = np.round(s.lognormal("capital", e.rows, MEDIAN_CAPITAL[e.size], 0.9), 1)
    individual = e.type == TYPE_NAMES.index("个体工商户")
    foundation = e.type == TYPE_NAMES.index("基金会")
    capital = np.where(
        individual, np.round(capital / 20, 1), np.where(foundation, np.maximum(capital, 200.0), capital)
    )
    return {
        "credit_code": c.codes,
        "name": c.names,
        "entity_type": pick(TYPE_NAMES, e.type),
        "size_class": pick(SIZE_CLASSES, e.size),
        "industry_code": INDUSTRY_CODES.take(pa.array(e.industry)),
        "industry_name": INDUSTRY_NAMES.take(pa.array(e.industry)),
        "registered_capital": np.maximum(capital, 1.0),
        "founding_date": e.founded,
        "legal_rep_id": c.population.people(c.legal_reps).id_numbers(),
        "status": pick(STATUSES, e.status),
        "status_date": e.status_date,
        "region_code": _REGION_CODES.take(pa.array(e.region)),
        "address": c.addresses,
    }


def change(c: EnterpriseChunk) -> Columns:
    e, s = c.entities, c.stream("enterprise.change")
    pair_rows = child_rows(e.rows[:, None], np.arange(len(CHANGE_ITEMS))[None, :], 8)
    room = (e.last_day - e.founded > 60)[:, None]
    happened = room & (s.uniform("happened", pair_rows) < np.array(_CHANGE_RATES))
    position, item = np.nonzero(happened)
    rows = pair_rows[position, item]
    start, end = e.founded[position] + 30, e.last_day[position]
    recent = s.chance("recent", rows, 0.12)
    span = np.where(recent, np.minimum(45, end - start), end - start)
    when = end - (s.uniform("day", rows) * span).astype(np.int64)
    take = pa.array(position)
    scope = INDUSTRY_NAMES.take(pa.array(e.industry[position]))
    former_rep = c.population.adults(s, "former_rep", rows, start, max_age=75)
    current_rep = c.legal_reps[position]
    before = [
        c.registry.names(e, "former_name").take(take),
        c.population.people(former_rep).id_numbers(),
        c.registry.addresses(e, "former_address").take(take),
        scope,
    ]
    after = [
        c.names.take(take),
        c.population.people(current_rep).id_numbers(),
        c.addresses.take(take),
        join(scope, "；技术开发、技术咨询；货物及技术进出口"),
    ]
    chosen = [pa.array(item == k) for k in range(len(CHANGE_ITEMS))]
    order = pa.array(np.lexsort((when, position)))
    return {
        "credit_code": c.codes.take(take).take(order),
        "change_date": when[order.to_numpy()],
        "change_item": pick(CHANGE_ITEMS, item).take(order),
        "before": _select(chosen, before).take(order),
        "after": _select(chosen, after).take(order),
    }


def _select(conditions: list[pa.Array], choices: list[pa.Array]) -> pa.Array:
    result = choices[-1]
    for condition, choice in zip(conditions[-2::-1], choices[-2::-1], strict=True):
        result = pc.if_else(condition, choice, result)
    return result


def employer_year(c: EnterpriseChunk) -> Columns:
    y, s = c.insured_years, c.stream("social_insurance.employer_year")
    rows, months, headcount = y["rows"], y["months"], y["headcount"]
    full = s.chance("full", rows, 0.9)
    paid_months = np.where(full, months, s.below("paid_months", rows, months))
    wage = s.lognormal("wage", c.entities.rows[y["position"]], 9000.0, 0.3)
    paid = headcount * wage * 0.01 * (paid_months + 0.4 * (months - paid_months))
    arrears = s.chance("arrears", rows, np.where(paid_months < months, 0.3, 0.04))
    arrears_paid = np.where(arrears, paid * (0.05 + 0.35 * s.uniform("arrears_share", rows)), 0.0)
    return {
        "credit_code": c.codes.take(pa.array(y["position"])),
        "year": y["year"],
        "avg_insured_headcount": headcount,
        "ui_paid": np.round(paid, 2),
        "ui_arrears_paid": np.round(arrears_paid, 2),
        "months_paid_in_full": paid_months,
    }


def ui_claim(c: EnterpriseChunk) -> Columns:
    y, s = c.insured_years, c.stream("social_insurance.ui_claim")
    small = y["headcount"] <= 30
    u = s.uniform("band", y["rows"])
    cumulative = np.cumsum(_LAYOFF_WEIGHTS, axis=1)[small.astype(np.int64)]
    band = _LAYOFF_BANDS[(u[:, None] * 100.0 >= cumulative[:, :-1]).sum(axis=1)]
    rate = band[:, 0] + s.uniform("rate", y["rows"]) * (band[:, 1] - band[:, 0])
    expected = y["headcount"] * rate * y["months"] / 12
    count = np.minimum(s.stochastic_round("count", y["rows"], expected), _MAX_CLAIMS)
    parent, ordinal = expand(count)
    rows = child_rows(y["rows"][parent], ordinal, 4096)
    position = y["position"][parent]
    year_first = year_start(y["year"][parent])
    first = np.maximum(year_first, c.entities.founded[position])
    last = np.minimum(np.minimum(year_start(y["year"][parent] + 1) - 1, c.entities.last_day[position]), TODAY)
    when = first + (s.uniform("day", rows) * (last - first + 1)).astype(np.int64)
    claimant = c.population.adults(s, "claimant", rows, when, max_age=59)
    order = np.lexsort((when, position))
    return {
        "former_employer": c.codes.take(pa.array(position[order])),
        "id_number": c.population.people(claimant[order]).id_numbers(),
        "claim_date": when[order],
    }


def tax_year(c: EnterpriseChunk) -> Columns:
    y, s, e = c.years, c.stream("tax.enterprise_year"), c.entities
    rows, position, year = y["rows"], y["position"], y["year"]
    new = year - ymd(e.founded[position])[0] <= 1
    grade = np.where(
        new & s.chance("new_m", rows, 0.8), 2, s.choice("grade", rows, (10.0, 60.0, 15.0, 10.0, 5.0))
    )
    listed = _listed_year(c)[position]
    grade = np.where(year >= listed, 4, grade)
    revenue = s.lognormal("revenue", rows, _MEDIAN_REVENUE[e.size[position]], 0.8) * y["months"] / 12
    tech = np.isin(e.industry[position], _TECH)
    researches = s.chance("researches", e.rows[position], np.where(tech, 0.65, 0.06))
    intensity = np.where(
        tech, 0.03 + 0.12 * s.uniform("intensity", rows), 0.005 + 0.025 * s.uniform("intensity", rows)
    )
    return {
        "credit_code": c.codes.take(pa.array(position)),
        "year": year,
        "credit_grade": pick(TAX_GRADES, grade),
        "revenue": np.round(revenue, 2),
        "rd_expense": np.round(np.where(researches, revenue * intensity, 0.0), 2),
    }


def _listed_year(c: EnterpriseChunk) -> Ints:
    """Per entity, the first year it is on the serious-dishonesty list (a large year if never)."""
    listed = _dishonest(c)
    result = np.full(len(c.entities.rows), 9999, dtype=np.int64)
    where = pc.index_in(listed["subject_id"], value_set=c.codes).to_numpy()
    np.minimum.at(result, where, ymd(np.asarray(listed["listed_date"]))[0])
    return result


def enterprise_licence(c: EnterpriseChunk) -> Columns:
    e = c.entities
    types = ENTERPRISE_LICENCE_TYPES
    eligible = np.stack(
        [
            np.isin(e.industry, [INDUSTRY_INDEX[code] for code in t.industries])
            | np.isin(e.type, [TYPE_NAMES.index(name) for name in t.entity_types])
            for t in types
        ],
        axis=1,
    )
    return licences(c.stream("licence.enterprise_licence"), c.subjects, types, eligible)


CREDIT_TABLES = credit_tables("enterprise", CreditRates(0.015, 0.08, 4.0, 0.03, 5.0))
_dishonest = CREDIT_TABLES[0][1]


ENTERPRISE_CLASS = "基础信息资源/法人单位"
SOCIAL_CLASS = "主题信息资源/社会保障"
ENTERPRISE_TABLES: list[tuple[Resource, Callable[[EnterpriseChunk], Columns]]] = [
    (Resource("enterprise.registry", "市场主体登记信息", ENTERPRISE_CLASS, "market_regulation", "enterprise",
              "credit_code", "one", fields("""
credit_code string 统一社会信用代码
name string 名称
entity_type string 主体类型
size_class string 企业规模
industry_code string 国民经济行业代码
industry_name string 国民经济行业名称
registered_capital number 注册资本（万元）
founding_date date 成立日期
legal_rep_id string 法定代表人公民身份号码
status string 登记状态
status_date date 注销或吊销日期
region_code string 住所行政区划代码
address string 住所
""")), registry),
    (Resource("enterprise.change", "市场主体变更登记信息", ENTERPRISE_CLASS, "market_regulation", "enterprise",
              "credit_code", "many", fields("""
credit_code string 统一社会信用代码
change_date date 变更日期
change_item string 变更事项
before string 变更前内容
after string 变更后内容
""")), change),
    (Resource("social_insurance.employer_year", "单位参保缴费年度信息", SOCIAL_CLASS, "human_resources", "enterprise",
              "credit_code", "many", fields("""
credit_code string 统一社会信用代码
year integer 年度
avg_insured_headcount integer 月平均参保职工人数
ui_paid number 当年实际缴纳失业保险费（元）
ui_arrears_paid number 当年补缴以前年度欠费及滞纳金（元）
months_paid_in_full integer 足额缴费月数
"""), update_cycle="每月"), employer_year),
    (Resource("social_insurance.ui_claim", "失业保险金申领信息（按原单位）", SOCIAL_CLASS, "human_resources",
              "enterprise", "former_employer", "many", fields("""
former_employer string 原参保单位统一社会信用代码
id_number string 公民身份号码
claim_date date 初次申领日期
"""), update_cycle="每月"), ui_claim),
    (Resource("tax.enterprise_year", "纳税信用及经营年度信息", "主题信息资源/税务", "tax", "enterprise",
              "credit_code", "many", fields("""
credit_code string 统一社会信用代码
year integer 年度
credit_grade string 纳税信用等级
revenue number 营业收入（元）
rd_expense number 研发费用（元）
"""), update_cycle="每年", sharing="conditional", sharing_condition="仅限政策兑现和信用审查事项使用"), tax_year),
    *CREDIT_TABLES,
    (Resource("licence.enterprise_licence", "电子证照（法人和其他组织）", "基础信息资源/电子证照", "data_bureau",
              "enterprise", "holder_id", "many", LICENCE_FIELDS), enterprise_licence),
]  # fmt: skip
