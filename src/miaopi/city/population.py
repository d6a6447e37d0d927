"""The population registry as a pure function of a person's row number.

Rows are laid out in ID-number order: the population is split into (birth region, birth year) cells
in code order, and inside a cell births are spread evenly over the days of the year with sequence
numbers rising within each day. So row order is ID order (the file is sorted by its key without a
sort), every ID number is unique by construction, and any row's person can be recomputed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from miaopi.city.dates import TODAY, add_years, age_on, year_start
from miaopi.city.draw import Ints, Stream, systematic_counts
from miaopi.city.text import citizen_ids, codes_matrix, join, pick, strings
from miaopi.city.vocab import (
    AGE_BAND_WEIGHTS,
    COMPOUND_SURNAMES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    GIVEN_SHARED,
    HOME_CITIES,
    REGIONS,
    SURNAME_WEIGHTS,
    SURNAMES,
)

Bools = npt.NDArray[np.bool_]
NULL_DAY = np.iinfo(np.int64).min  # marks a missing date in an int64 day column

FIRST_YEAR, LAST_YEAR = 1920, 2026
YEARS = np.arange(FIRST_YEAR, LAST_YEAR + 1, dtype=np.int64)
_YEAR_START = year_start(YEARS)
# Days of each year available for births: a whole year, or up to the as-of day for the last.
_YEAR_DAYS = np.minimum(year_start(YEARS + 1), TODAY + 1) - _YEAR_START
_REGION_CODES = codes_matrix([r.code for r in REGIONS])
CITY_CODES = sorted({r.city_code for r in REGIONS})
_CITY_OF_REGION = np.array([CITY_CODES.index(r.city_code) for r in REGIONS], dtype=np.int64)
_HOME = np.array([CITY_CODES.index(code) for code in HOME_CITIES], dtype=np.int64)
_SURNAMES = pa.array([*SURNAMES, *COMPOUND_SURNAMES])
_SURNAME_WEIGHTS = np.array([*SURNAME_WEIGHTS, *(0.05 for _ in COMPOUND_SURNAMES)])
_GIVEN = {
    True: pa.array(list(GIVEN_MALE + GIVEN_SHARED)),
    False: pa.array(list(GIVEN_FEMALE + GIVEN_SHARED)),
}
SEQUENCES_PER_DAY = 500  # per sex: the 3-digit sequence's parity encodes sex


@dataclass(frozen=True, slots=True)
class People:
    """A batch of persons, all columns aligned with ``rows``."""

    rows: Ints
    region: Ints  # index into REGIONS
    birth: Ints  # day number
    male: Bools
    death: Ints  # day number or NULL_DAY
    hukou_city: Ints  # index into CITY_CODES
    id_bytes: npt.NDArray[np.uint8]

    @property
    def alive(self) -> Bools:
        return self.death == NULL_DAY

    @property
    def last_day(self) -> Ints:
        """The last day on which the person can have new records."""
        return np.where(self.alive, TODAY, self.death)

    def id_numbers(self) -> pa.StringArray:
        return strings(self.id_bytes)

    def age(self, on: npt.ArrayLike = TODAY) -> Ints:
        return age_on(self.birth, on)

    def adult_from(self, years: int = 18) -> Ints:
        return add_years(self.birth, years)


class Population:
    """``size`` persons; ``people(rows)`` computes any rows without the others."""

    def __init__(self, seed: int, size: int) -> None:
        if size < 1:
            raise ValueError("人口数量必须为正数")
        self.size = size
        self.stream = Stream(seed, "population")
        region_weight = np.array([r.people_weight for r in REGIONS])
        ages = LAST_YEAR - YEARS
        year_weight = np.array(AGE_BAND_WEIGHTS)[np.minimum(ages // 5, len(AGE_BAND_WEIGHTS) - 1)]
        year_weight = year_weight * _YEAR_DAYS / 365.0
        # Cells in ID order: regions by code, then years ascending.
        order = np.argsort([r.code for r in REGIONS], kind="stable")
        self.cell_region = np.repeat(order, len(YEARS))
        self.cell_year = np.tile(np.arange(len(YEARS)), len(REGIONS))
        weights = region_weight[self.cell_region] * year_weight[self.cell_year]
        offset = float(self.stream.uniform("cells", [0])[0])
        self.cell_count = systematic_counts(weights, size, offset)
        capacity = SEQUENCES_PER_DAY * _YEAR_DAYS[self.cell_year]
        if np.any(self.cell_count > capacity):
            raise ValueError("人口规模超出身份证顺序码容量（每地区每日每性别500人）")
        self.cell_end = np.cumsum(self.cell_count)
        self._pool: Ints | None = None

    def people(self, rows: Ints) -> People:
        s = self.stream
        cell = np.searchsorted(self.cell_end, rows, side="right")
        count = self.cell_count[cell]
        rank = rows - (self.cell_end[cell] - count)
        year = self.cell_year[cell]
        span = _YEAR_DAYS[year]
        day_of_year = rank * span // count
        first_of_day = (day_of_year * count + span - 1) // span
        on_day = ((day_of_year + 1) * count + span - 1) // span - first_of_day
        stride = SEQUENCES_PER_DAY // on_day
        ordinal = (rank - first_of_day) * stride + s.below("sequence", rows, stride)
        male = s.chance("male", rows, 0.51)
        sequence = 2 * ordinal + male
        birth = _YEAR_START[year] + day_of_year
        region = self.cell_region[cell]
        y, m, d = YEARS[year], *_month_day(birth)
        id_bytes = citizen_ids(_REGION_CODES[region], y, m, d, sequence)

        age = age_on(birth, TODAY)
        death_rate = np.select(
            [age < 50, age < 60, age < 70, age < 80, age < 90], [0.002, 0.01, 0.03, 0.08, 0.18], 0.3
        )
        dead = s.chance("dead", rows, death_rate)
        earliest = np.maximum(birth + 1, TODAY - 3650)
        death = np.where(dead, earliest + s.below("death", rows, TODAY - earliest + 1), NULL_DAY)

        birth_city = _CITY_OF_REGION[region]
        born_home = np.isin(birth_city, _HOME)
        moved = s.chance("hukou_moved", rows, np.where(born_home, 0.03, 0.3))
        destination = _HOME[s.choice("hukou_city", rows, [0.45, 0.35, 0.2])]
        hukou = np.where(moved, destination, birth_city)
        return People(rows, region, birth, male, death, hukou, id_bytes)

    def names(self, people: People) -> pa.Array:
        s, rows = self.stream, people.rows
        surname = pick(_SURNAMES, s.choice("surname", rows, _SURNAME_WEIGHTS))
        male = pa.array(people.male)
        parts = []
        for position in ("given1", "given2"):
            male_char = pick(_GIVEN[True], s.below(position, rows, len(_GIVEN[True])))
            female_char = pick(_GIVEN[False], s.below(position, rows, len(_GIVEN[False])))
            parts.append(pc.if_else(male, male_char, female_char))
        single = pa.array(s.chance("single_given", rows, 0.25))
        return join(surname, parts[0], pc.if_else(single, pa.scalar(""), parts[1]))

    def adults(
        self, stream: Stream, field: str, rows: Ints, on: Ints, max_age: int = 200, living: bool = False
    ) -> Ints:
        """A person for each row who is alive and aged 18…max_age on the given day (``living``:
        and still alive today).

        Draws candidates by rejection (pure in ``rows``); the few rows left after the rounds get a
        candidate from a fixed pool of long-lived adults, so every reference resolves.
        """
        chosen = np.full(len(rows), -1, dtype=np.int64)
        for attempt in range(12):
            open_ = chosen < 0
            if not open_.any():
                break
            candidate = stream.below(f"{field}@{attempt}", rows[open_], self.size)
            person = self.people(candidate)
            when = on[open_]
            age = age_on(person.birth, when)
            survives = person.alive if living else person.alive | (person.death > when)
            fits = (age >= 18) & (age <= max_age) & survives
            chosen[np.flatnonzero(open_)[fits]] = candidate[fits]
        open_ = chosen < 0
        if open_.any():
            pool = self.fallback_pool()
            chosen[open_] = pool[stream.below(f"{field}@pool", rows[open_], len(pool))]
        return chosen

    def fallback_pool(self) -> Ints:
        """Persons alive today and born before 1970 (adults on any date the city generates)."""
        if self._pool is not None:
            return self._pool
        rows = np.arange(min(self.size, 200_000), dtype=np.int64)
        people = self.people(rows)
        pool = rows[people.alive & (people.birth < year_start([1970])[0])]
        if len(pool) == 0:
            raise ValueError("人口规模过小，找不到可作为法定代表人或申领人的成年人")
        self._pool = pool
        return pool


def _month_day(days: Ints) -> tuple[Ints, Ints]:
    stamps = days.astype("datetime64[D]")
    months = stamps.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    return month, (stamps - months.astype("datetime64[D]")).astype(np.int64) + 1
