"""Tables whose rows belong to persons, generated for a chunk of consecutive person rows.

Every table comes out sorted by ``id_number`` because person rows are in ID order and each table
lists a person's records together."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pyarrow as pa

from miaopi.city.catalogue import Resource, fields
from miaopi.city.dates import TODAY, add_years, age_on, day, year_start, ymd
from miaopi.city.draw import Stream, child_rows, expand
from miaopi.city.enterprises import Registry
from miaopi.city.population import CITY_CODES, NULL_DAY, People, Population
from miaopi.city.records import (
    LICENCE_FIELDS,
    CreditRates,
    Subjects,
    credit_tables,
    events,
    licences,
)
from miaopi.city.text import pick
from miaopi.city.vocab import (
    DEGREES,
    HOME_CITIES,
    MAJORS,
    PERSON_LICENCE_TYPES,
    REGIONS,
    SCHOOLS_BACHELOR,
    SCHOOLS_COLLEGE,
)
from miaopi.city.writer import Columns

_CITY_NAME = {r.city_code: r.city_name for r in REGIONS}
_CITY_NAMES = pa.array([_CITY_NAME[code] for code in CITY_CODES])
_REGION_CODES = pa.array([r.code for r in REGIONS])
_HOME = np.array([CITY_CODES.index(code) for code in HOME_CITIES])
LONG_TERM = day("9999-12-31")
DRIVING_CLASSES = ("C1", "C2", "B2", "A2", "A1", "B1", "A3", "D", "E")
_DRIVING_WEIGHTS = (70.0, 11.0, 5.0, 3.0, 2.0, 2.0, 0.5, 4.0, 2.5)
_POINTS = np.array([1, 2, 3, 6, 9, 12, 15, 18])
_POINT_WEIGHTS = (18.0, 20.0, 22.0, 20.0, 10.0, 5.0, 3.0, 2.0)
CRIME_CATEGORIES = ("交通肇事罪", "危险驾驶罪", "醉酒驾驶", "吸毒", "暴力犯罪", "盗窃罪", "诈骗罪")
_CRIME_WEIGHTS = (8.0, 20.0, 15.0, 15.0, 12.0, 18.0, 12.0)
QUALIFICATIONS = ("网约车驾驶员从业资格考试合格", "出租汽车驾驶员从业资格")


class PersonChunk:
    """A chunk of consecutive person rows and what several tables derive from them."""

    def __init__(self, seed: int, population: Population, registry: Registry, rows: np.ndarray) -> None:
        self.seed = seed
        self.population = population
        self.registry = registry
        self.people: People = population.people(rows)

    def stream(self, table: str) -> Stream:
        return Stream(self.seed, table)

    @cached_property
    def ids(self) -> pa.Array:
        return self.people.id_numbers()

    @cached_property
    def names(self) -> pa.Array:
        return self.population.names(self.people)

    @cached_property
    def subjects(self) -> Subjects:
        """Persons as subjects of records from their 18th birthday to death or today."""
        p = self.people
        return Subjects(
            "person", p.rows, self.ids, self.names, _CITY_NAMES.take(pa.array(p.hukou_city)),
            p.adult_from(18), p.last_day,
        )  # fmt: skip

    @cached_property
    def driving(self) -> dict[str, np.ndarray]:
        """Driving-licence holders: positions, first issue, validity, class, status, points."""
        p, s = self.people, self.stream("traffic.driving_licence")
        age = p.age(np.where(p.alive, TODAY, p.death))
        rate = np.select([age < 18, age <= 25, age <= 60, age <= 70], [0.0, 0.35, 0.62, 0.35], 0.1)
        held = s.chance("held", p.rows, rate) & (np.maximum(p.adult_from(18), day("1985-01-01")) < p.last_day)
        position = np.flatnonzero(held)
        rows = p.rows[position]
        adult = p.adult_from(18)[position]
        last = p.last_day[position]
        earliest = np.maximum(adult, day("1985-01-01"))
        first = earliest + (s.uniform("first", rows) * (last - earliest)).astype(np.int64)
        years = age_on(first, TODAY)
        renewed = ~s.chance("lapsed", rows, 0.03)
        valid_to = np.where(
            years < 6, add_years(first, 6), np.where(years < 16, add_years(first, 16), LONG_TERM)
        )
        valid_to = np.where(renewed | (years < 6), valid_to, add_years(first, 6))
        # Points for the current and two previous scoring periods (each a year from the anniversary).
        period, ordinal = expand(np.minimum(years, 2) + 1)
        start = add_years(first[period], years[period] - ordinal)
        point_rows = child_rows(rows[period], ordinal)
        has_points = s.chance("points", point_rows, 0.3)
        points = np.where(has_points, _POINTS[s.choice("points_value", point_rows, _POINT_WEIGHTS)], 0)
        keep = start <= last[period]
        current_points = np.zeros(len(position), dtype=np.int64)
        current_points[period[ordinal == 0]] = points[ordinal == 0]
        revoked = s.chance("revoked", rows, 0.01)
        dead = ~p.alive[position]
        status = np.select(
            [dead, revoked, current_points >= 12, valid_to < TODAY],
            ["注销", "吊销", "超分", "逾期未换证"],
            "正常",
        )
        order = np.lexsort((start[keep], period[keep]))
        return {
            "position": position, "rows": rows, "first": first, "valid_to": valid_to,
            "class": s.choice("class", rows, _DRIVING_WEIGHTS), "status": status,
            "period_position": position[period[keep]][order], "period_start": start[keep][order],
            "points": points[keep][order], "years": years, "active": ~(dead | revoked),
        }  # fmt: skip


def person(c: PersonChunk) -> Columns:
    p = c.people
    return {
        "id_number": c.ids,
        "name": c.names,
        "sex": np.where(p.male, "男", "女"),
        "birth_date": p.birth,
        "birth_region": _REGION_CODES.take(pa.array(p.region)),
        "hukou_city": pick(CITY_CODES, p.hukou_city),
        "death_date": p.death,
    }


def residence_permit(c: PersonChunk) -> Columns:
    p, s = c.people, c.stream("population.residence_permit")
    local = np.isin(p.hukou_city, _HOME)
    adult_from = p.adult_from(16)
    holds = s.chance("holds", p.rows, np.where(local, 0.08, 0.55)) & (adult_from < p.last_day - 30)
    city = _HOME[s.choice("city", p.rows, [0.45, 0.35, 0.2])]
    holds &= city != p.hukou_city
    count = np.where(holds, 1 + s.below("count", p.rows, 4), 0)
    position, ordinal = expand(count)
    # The latest permit started within the last ~16 months before the anchor; earlier ones
    # follow back to back a year each. About a quarter of the latest have lapsed.
    latest = p.last_day[position] - (s.uniform("latest", p.rows[position]) * 480).astype(np.int64)
    back = count[position] - 1 - ordinal
    valid_from = add_years(latest, -back)
    keep = valid_from >= adult_from[position]
    return {
        "id_number": c.ids.take(pa.array(position[keep])),
        "city": pick(CITY_CODES, city[position[keep]]),
        "valid_from": valid_from[keep],
        "valid_to": add_years(valid_from[keep], 1) - 1,
    }


def degree(c: PersonChunk) -> Columns:
    p, s = c.people, c.stream("education.degree")
    year = ymd(p.birth)[0]
    weights = np.where(
        (year >= 1990)[:, None],
        [[35.5, 25, 30, 8, 1.5]],
        np.where((year >= 1970)[:, None], [[65.0, 15, 15, 4, 1]], [[86.7, 6, 6, 1, 0.3]]),
    )
    cumulative = np.cumsum(weights, axis=1)
    highest = (s.uniform("highest", p.rows)[:, None] * cumulative[:, -1:] >= cumulative[:, :-1]).sum(axis=1)
    # Records: 大专 alone; 本科; 硕士 adds 本科; 博士 adds 本科 and 硕士.
    count = np.select([highest == 0, highest <= 2], [0, 1], highest - 1)
    position, ordinal = expand(count)
    level = np.where(highest[position] == 1, 0, ordinal + 1)  # index into DEGREES
    rows = child_rows(p.rows[position], ordinal)
    age_at = np.array([21, 22, 25, 29])[level] + s.below("delay", rows, 2)
    graduated = year_start(year[position] + age_at) + 180  # about 30 June
    keep = graduated <= p.last_day[position]
    bachelor = s.below("school", rows, len(SCHOOLS_BACHELOR))
    college = s.below("school", rows, len(SCHOOLS_COLLEGE))
    school = pa.array(
        np.where(level == 0, np.array(SCHOOLS_COLLEGE)[college], np.array(SCHOOLS_BACHELOR)[bachelor])
    )
    major = s.below("major", p.rows[position], len(MAJORS))
    keep_idx = pa.array(np.flatnonzero(keep))
    return {
        "id_number": c.ids.take(pa.array(position[keep])),
        "degree": pick(DEGREES, level[keep]),
        "school": school.take(keep_idx),
        "major": pick(MAJORS, major[keep]),
        "graduation_date": graduated[keep],
    }


def person_employment(c: PersonChunk) -> Columns:
    p, s = c.people, c.stream("social_insurance.person_employment")
    age = p.age()
    working = p.alive & (age >= 18) & (age < 60) & s.chance("employed", p.rows, 0.65)
    count = np.where(working, 1 + s.chance("second", p.rows, 0.25), 0)
    position, ordinal = expand(count)
    rows = child_rows(p.rows[position], ordinal)
    employer = c.registry.insured_employers(s, "employer", rows)
    possible = np.maximum(1, (TODAY - np.maximum(employer.founded, p.adult_from(18)[position])) // 30)
    months = 1 + s.below("months", rows, np.minimum(possible, 120))
    return {
        "id_number": c.ids.take(pa.array(position)),
        "employer": employer.credit_codes(),
        "insured_months": months,
    }


def driving_licence(c: PersonChunk) -> Columns:
    d = c.driving
    return {
        "id_number": c.ids.take(pa.array(d["position"])),
        "licence_class": pick(DRIVING_CLASSES, d["class"]),
        "first_issue_date": d["first"],
        "valid_to": d["valid_to"],
        "status": pa.array(d["status"]),
    }


def penalty_points(c: PersonChunk) -> Columns:
    d = c.driving
    start = d["period_start"]
    return {
        "id_number": c.ids.take(pa.array(d["period_position"])),
        "period_start": start,
        "period_end": add_years(start, 1) - 1,
        "points": d["points"],
    }


def criminal_record(c: PersonChunk) -> Columns:
    s = c.stream("police.criminal_record")
    position, rows, when = events(s, c.subjects, 0.02, 2)
    return {
        "id_number": c.ids.take(pa.array(position)),
        "category": pick(CRIME_CATEGORIES, s.choice("category", rows, _CRIME_WEIGHTS)),
        "record_date": when,
    }


def transport_qualification(c: PersonChunk) -> Columns:
    d, p = c.driving, c.people
    s = c.stream("transport.qualification")
    experienced = d["active"] & (d["years"] >= 3) & (p.age()[d["position"]] <= 60)
    held = experienced[:, None] & (s.uniform("held", child_rows(d["rows"][:, None], np.arange(2)[None, :]))
                                   < np.array([0.08, 0.03]))  # fmt: skip
    holder, kind = np.nonzero(held)
    rows = child_rows(d["rows"][holder], kind)
    earliest = add_years(d["first"][holder], 3)
    last = p.last_day[d["position"][holder]]
    obtained = earliest + (s.uniform("obtained", rows) * (last - earliest)).astype(np.int64)
    revoked_on = obtained + (s.uniform("revoked_on", rows) * (TODAY - obtained)).astype(np.int64)
    revoked = s.chance("revoked", rows, np.where(kind == 1, 0.12, 0.03))
    return {
        "id_number": c.ids.take(pa.array(d["position"][holder])),
        "qualification": pick(QUALIFICATIONS, kind),
        "obtained_date": obtained,
        "revoked_date": np.where(revoked, revoked_on, NULL_DAY),
    }


def person_licence(c: PersonChunk) -> Columns:
    s = c.stream("licence.person_licence")
    eligible = np.broadcast_to(
        (age_on(c.people.birth, TODAY) >= 22)[:, None], (len(c.people.rows), len(PERSON_LICENCE_TYPES))
    )
    return licences(s, c.subjects, PERSON_LICENCE_TYPES, eligible)


PERSON_CLASS = "基础信息资源/人口"
PERSON_TABLES: list[tuple[Resource, Callable[[PersonChunk], Columns]]] = [
    (Resource("population.person", "人口基本信息", PERSON_CLASS, "public_security", "person", "id_number", "one",
              fields("""
id_number string 公民身份号码
name string 姓名
sex string 性别
birth_date date 出生日期
birth_region string 出生地行政区划代码
hukou_city string 户籍所在城市代码
death_date date 死亡日期
""")), person),
    (Resource("population.residence_permit", "居住证信息", PERSON_CLASS, "public_security", "person", "id_number",
              "many", fields("""
id_number string 公民身份号码
city string 居住证签发城市代码
valid_from date 有效期起始日期
valid_to date 有效期截止日期
""")), residence_permit),
    (Resource("education.degree", "学历学位信息", "主题信息资源/教育", "education", "person", "id_number", "many",
              fields("""
id_number string 公民身份号码
degree string 学历
school string 毕业院校
major string 专业
graduation_date date 毕业日期
"""), update_cycle="每年"), degree),
    (Resource("social_insurance.person_employment", "个人参保缴费信息", "主题信息资源/社会保障", "human_resources",
              "person", "id_number", "many", fields("""
id_number string 公民身份号码
employer string 参保单位统一社会信用代码
insured_months integer 在该单位累计缴费月数
"""), update_cycle="每月"), person_employment),
    (Resource("traffic.driving_licence", "机动车驾驶证信息", "主题信息资源/交通", "traffic_police", "person",
              "id_number", "one", fields("""
id_number string 公民身份号码
licence_class string 准驾车型
first_issue_date date 初次领证日期
valid_to date 有效期截止日期
status string 驾驶证状态
""")), driving_licence),
    (Resource("traffic.penalty_points", "驾驶证记分信息", "主题信息资源/交通", "traffic_police", "person",
              "id_number", "many", fields("""
id_number string 公民身份号码
period_start date 记分周期起始日期
period_end date 记分周期截止日期
points integer 累积记分
""")), penalty_points),
    (Resource("police.criminal_record", "违法犯罪及吸毒记录（类别）", "主题信息资源/公共安全", "public_security",
              "person", "id_number", "many", fields("""
id_number string 公民身份号码
category string 记录类别
record_date date 记录日期
"""), sharing="conditional", sharing_condition="仅限法定资格审查事项按身份证号逐一核查，不得批量导出"),
     criminal_record),
    (Resource("transport.qualification", "道路运输从业资格信息", "主题信息资源/交通", "transport", "person",
              "id_number", "many", fields("""
id_number string 公民身份号码
qualification string 从业资格类别
obtained_date date 取得日期
revoked_date date 撤销日期
""")), transport_qualification),
    *credit_tables("person", CreditRates(0.004, 0.02, 0.2, 0.01, 1.0)),
    (Resource("licence.person_licence", "电子证照（自然人）", "基础信息资源/电子证照", "data_bureau", "person",
              "holder_id", "many", LICENCE_FIELDS),
     person_licence),
]  # fmt: skip
