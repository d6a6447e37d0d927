"""The enterprise (market-entity) registry as a pure function of an entity's row number.

Rows are laid out in credit-code order: entities are split into (authority+category, region) cells
in code order; inside a cell, older entities carry 8-digit organisation codes and entities from
October 2015 on carry "MA…" codes, both rising with the row, and founding dates rise with them.
So the registry is sorted by credit code as generated, codes are unique by construction, and a
row's entity (its code, type, size, status) can be recomputed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from miaopi.city.dates import TODAY, day
from miaopi.city.draw import Ints, Stream, systematic_counts
from miaopi.city.population import NULL_DAY, Population
from miaopi.city.text import base31, codes_matrix, credit_codes, digits, join, pick, strings
from miaopi.city.vocab import INDUSTRIES, INDUSTRY_INDEX, REGIONS, TRADE_NAME_CHARS

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class EntityType:
    name: str
    prefix: str  # registering authority + category (credit-code positions 1–2)
    weight: float
    old_share: float  # share founded before the 2015 code reform
    deregistered: float  # share 注销
    revoked: float  # share 吊销
    insured_unit: float  # share that pays social insurance as a unit
    sizes: tuple[float, float, float, float]  # 大, 中, 小, 微


# Accounting firms register with market regulation (prefix 91) and are drawn inside that block.
ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType("律师事务所", "31", 0.5, 0.5, 0.03, 0.0, 1.0, (0.01, 0.09, 0.4, 0.5)),
    EntityType("社会团体", "51", 1.0, 0.5, 0.04, 0.02, 0.9, (0.0, 0.05, 0.35, 0.6)),
    EntityType("民办非企业单位", "52", 1.0, 0.45, 0.05, 0.02, 0.95, (0.01, 0.09, 0.4, 0.5)),
    EntityType("基金会", "53", 0.3, 0.4, 0.02, 0.0, 0.9, (0.0, 0.05, 0.35, 0.6)),
    EntityType("企业", "91", 56.7, 0.35, 0.1, 0.04, 0.92, (0.025, 0.075, 0.28, 0.62)),
    EntityType("个体工商户", "92", 40.0, 0.3, 0.2, 0.03, 0.08, (0.0, 0.0, 0.02, 0.98)),
    EntityType("农民专业合作社", "93", 0.5, 0.4, 0.08, 0.02, 0.3, (0.0, 0.0, 0.2, 0.8)),
)
ACCOUNTING_FIRM = "会计师事务所"
TYPE_NAMES = [t.name for t in ENTITY_TYPES] + [ACCOUNTING_FIRM]
_ACCOUNTING = len(ENTITY_TYPES)
_COMPANY = TYPE_NAMES.index("企业")
SIZE_CLASSES = ("大", "中", "小", "微")
STATUSES = ("存续", "注销", "吊销")
CODE_REFORM = day("2015-10-01")
FIRST_FOUNDING = day("1992-01-01")

_PREFIXES = codes_matrix([t.prefix for t in ENTITY_TYPES])
_ENTERPRISE_REGIONS = [i for i, r in enumerate(REGIONS) if r.enterprise_weight > 0]
_REGION_CODES = codes_matrix([r.code for r in REGIONS])
_CITY_NAMES = pa.array([r.city_name for r in REGIONS])
_ADDRESS_PREFIX = pa.array(
    [(r.city_name if r.province_name == r.city_name else r.province_name + r.city_name)
     + (r.name if r.name != r.city_name else "") for r in REGIONS]
)  # fmt: skip
_ROAD_NAMES = (
    "深南大道 滨海大道 科技园路 建设路 人民路 中山路 解放路 新华路 和平路 工业大道 创业路 学府路 东方路"
)
_ROADS = pa.array([*_ROAD_NAMES.split(), "世纪大道", "天河路", "环市路", "宝安大道", "龙岗大道", "黄埔大道"])
_TRADE = pa.array(list(TRADE_NAME_CHARS))
INDUSTRY_CODES = pa.array([i.code for i in INDUSTRIES])
INDUSTRY_NAMES = pa.array([i.name for i in INDUSTRIES])
_INDUSTRY_WORDS = pa.array([i.word for i in INDUSTRIES])
# Industries by entity type (type index → (industry indices, weights)).
_INDUSTRY_CHOICE: dict[int, tuple[Ints, npt.NDArray[np.float64]]] = {}
for _type, _codes in {
    "律师事务所": {"7231": 1.0},
    "社会团体": {"9521": 0.4, "9522": 0.6},
    "民办非企业单位": {"8391": 0.7, "8411": 0.3},
    "基金会": {"9530": 1.0},
    "农民专业合作社": {"0111": 0.5, "0141": 0.5},
    ACCOUNTING_FIRM: {"7241": 1.0},
}.items():
    _INDUSTRY_CHOICE[TYPE_NAMES.index(_type)] = (
        np.array([INDUSTRY_INDEX[c] for c in _codes]),
        np.array(list(_codes.values())),
    )
_INDUSTRY_CHOICE[_COMPANY] = (np.arange(len(INDUSTRIES)), np.array([i.weight for i in INDUSTRIES]))
_INDUSTRY_CHOICE[TYPE_NAMES.index("个体工商户")] = (
    np.arange(len(INDUSTRIES)),
    np.array([i.individual_weight for i in INDUSTRIES]),
)
# Name pattern per type: (before trade name, after industry word); city or district goes first.
_NAME_SUFFIX = {
    "律师事务所": "律师事务所",
    "社会团体": "",
    "民办非企业单位": "服务中心",
    "基金会": "",
    "企业": "有限公司",
    "个体工商户": "店",
    "农民专业合作社": "专业合作社",
    ACCOUNTING_FIRM: "会计师事务所（普通合伙）",
}
# Law and accounting firms are named without an industry word.
_NO_WORD = np.array([TYPE_NAMES.index("律师事务所"), _ACCOUNTING])
_SUFFIXES = pa.array([_NAME_SUFFIX[name] for name in TYPE_NAMES])
_MEDIAN_STAFF = np.array([1500.0, 250.0, 28.0, 4.0])
_STAFF_RANGE = np.array([[1000, 20000], [100, 999], [10, 99], [1, 9]])
MEDIAN_CAPITAL = np.array([50000.0, 3000.0, 300.0, 50.0])  # 万元


@dataclass(frozen=True, slots=True)
class Entities:
    """A batch of entities, columns aligned with ``rows``."""

    rows: Ints
    type: Ints  # index into TYPE_NAMES
    region: Ints  # index into REGIONS
    code_bytes: npt.NDArray[np.uint8]
    founded: Ints
    size: Ints  # index into SIZE_CLASSES
    industry: Ints  # index into INDUSTRIES
    staff: Ints  # insured headcount at the latest year
    insured: Bools  # pays social insurance as a unit
    status: Ints  # index into STATUSES
    status_date: Ints  # day of 注销/吊销, or NULL_DAY

    @property
    def active(self) -> Bools:
        return self.status == 0

    @property
    def last_day(self) -> Ints:
        """The last day on which the entity can have new records."""
        return np.where(self.active, TODAY, self.status_date)

    def credit_codes(self) -> pa.StringArray:
        return strings(self.code_bytes)


class Registry:
    """``size`` market entities; ``entities(rows)`` computes any rows without the others."""

    def __init__(self, seed: int, size: int, population: Population) -> None:
        if size < 1:
            raise ValueError("企业数量必须为正数")
        self.size = size
        self.population = population
        self.stream = Stream(seed, "enterprise")
        type_weight = np.array([t.weight for t in ENTITY_TYPES])
        region_weight = np.array([REGIONS[i].enterprise_weight for i in _ENTERPRISE_REGIONS])
        region_order = np.array(_ENTERPRISE_REGIONS)[
            np.argsort([REGIONS[i].code for i in _ENTERPRISE_REGIONS])
        ]
        region_weight = np.array([REGIONS[i].enterprise_weight for i in region_order])
        # Cells in code order: prefixes are listed ascending, regions sorted by code.
        self.cell_type = np.repeat(np.arange(len(ENTITY_TYPES)), len(region_order))
        self.cell_region = np.tile(region_order, len(ENTITY_TYPES))
        weights = type_weight[self.cell_type] * np.tile(region_weight, len(ENTITY_TYPES))
        offset = float(self.stream.uniform("cells", [0])[0])
        self.cell_count = systematic_counts(weights, size, offset)
        old_share = np.array([t.old_share for t in ENTITY_TYPES])[self.cell_type]
        self.cell_old = np.round(self.cell_count * old_share).astype(np.int64)
        self.cell_end = np.cumsum(self.cell_count)

    def entities(self, rows: Ints) -> Entities:
        s = self.stream
        cell = np.searchsorted(self.cell_end, rows, side="right")
        count = self.cell_count[cell]
        rank = rows - (self.cell_end[cell] - count)
        n_old = self.cell_old[cell]
        old = rank < n_old
        # Organisation codes and founding dates rise with the rank inside each era.
        era_rank = np.where(old, rank, rank - n_old)
        era_size = np.maximum(np.where(old, n_old, count - n_old), 1)
        position = (era_rank + s.uniform("position", rows)) / era_size
        old_value = (position * 10**8).astype(np.int64)
        new_value = (position * 31**6).astype(np.int64)
        org = np.where(
            old[:, None],
            digits(old_value, 8),
            np.concatenate(
                [np.full((len(rows), 2), list(b"MA"), dtype=np.uint8), base31(new_value, 6)], axis=1
            ),
        )
        type_ = self.cell_type[cell]
        region = self.cell_region[cell]
        code_bytes = credit_codes(_PREFIXES[type_], _REGION_CODES[region], org)
        # Growth: new entities are denser towards today (exponential growth through the era).
        growth = np.log1p(position * (np.e**2.0 - 1.0)) / 2.0
        founded = np.where(
            old,
            FIRST_FOUNDING + (position * (CODE_REFORM - FIRST_FOUNDING)).astype(np.int64),
            CODE_REFORM + (growth * (TODAY - 2 - CODE_REFORM)).astype(np.int64),
        )
        accounting = (type_ == _COMPANY) & s.chance("accounting", rows, 0.005)
        type_ = np.where(accounting, _ACCOUNTING, type_)

        industry = np.zeros(len(rows), dtype=np.int64)
        for kind, (choices, weights) in _INDUSTRY_CHOICE.items():
            mask = type_ == kind
            if mask.any():
                industry[mask] = choices[s.choice("industry", rows[mask], weights)]
        size_weights = np.array([t.sizes for t in ENTITY_TYPES] + [ENTITY_TYPES[3].sizes])
        cumulative = np.cumsum(size_weights, axis=1)[type_]
        size = (s.uniform("size", rows)[:, None] > cumulative[:, :-1]).sum(axis=1)
        staff = np.clip(
            np.round(s.lognormal("staff", rows, _MEDIAN_STAFF[size], 0.6)),
            _STAFF_RANGE[size, 0],
            _STAFF_RANGE[size, 1],
        ).astype(np.int64)
        insured_share = np.array([t.insured_unit for t in ENTITY_TYPES] + [1.0])[type_]
        insured = s.chance("insured", rows, insured_share)

        gone = np.array([[t.deregistered, t.revoked] for t in ENTITY_TYPES] + [[0.03, 0.0]])[type_]
        u = s.uniform("status", rows)
        young = founded > TODAY - 90
        status = np.where(young, 0, np.where(u < gone[:, 0], 1, np.where(u < gone.sum(axis=1), 2, 0)))
        lifetime = s.uniform("status_date", rows) * (TODAY - founded - 60)
        status_date = np.where(status > 0, founded + 60 + lifetime.astype(np.int64), NULL_DAY)
        return Entities(
            rows, type_, region, code_bytes, founded, size, industry, staff, insured, status, status_date
        )

    def legal_reps(self, entities: Entities) -> Ints:
        """The legal representative's person row: an adult on the founding day, alive today."""
        return self.population.adults(
            self.stream, "legal_rep", entities.rows, entities.founded, max_age=75, living=True
        )

    def insured_employers(self, stream: Stream, field: str, rows: Ints) -> Entities:
        """For each row, an entity that pays social insurance as a unit (by rejection)."""
        chosen = stream.below(field, rows, self.size)
        for attempt in range(8):
            found = self.entities(chosen)
            retry = ~found.insured
            if not retry.any():
                break
            chosen[retry] = stream.below(f"{field}@{attempt}", rows[retry], self.size)
        return self.entities(chosen)

    def names(self, entities: Entities, field: str = "name") -> pa.Array:
        """Entity names; another ``field`` gives another (e.g. former) name for the same entities."""
        s, rows = self.stream, entities.rows
        trade = join(
            pick(_TRADE, s.below(field + "1", rows, len(_TRADE))),
            pick(_TRADE, s.below(field + "2", rows, len(_TRADE))),
        )
        individual = entities.type == TYPE_NAMES.index("个体工商户")
        place = pick(
            pa.array([r.city_name for r in REGIONS] + [r.name for r in REGIONS]),
            entities.region + individual * len(REGIONS),
        )
        word = pc.if_else(
            pa.array(np.isin(entities.type, _NO_WORD)), "", pick(_INDUSTRY_WORDS, entities.industry)
        )
        return join(place, trade, word, pick(_SUFFIXES, entities.type))

    def addresses(self, entities: Entities, field: str = "address") -> pa.Array:
        s, rows = self.stream, entities.rows
        road = pick(_ROADS, s.below(field + "_road", rows, len(_ROADS)))
        number = pa.array((1 + s.below(field + "_number", rows, 3000)).astype(str))
        return join(pick(_ADDRESS_PREFIX, entities.region), road, number, "号")

    def city_names(self, entities: Entities) -> pa.Array:
        return pick(_CITY_NAMES, entities.region)
