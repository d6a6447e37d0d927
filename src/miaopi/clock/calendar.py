"""Chinese working days (工作日): chinesecalendar's tables plus the operator's override file.

A working day is a day on which government offices work: Monday to Friday unless it is a statutory
holiday or a day off shifted by 调休, plus the weekend days that 调休 turns into working days. The
arrangement is decided each year by the State Council, so it cannot be computed — only looked up. A
year the calendar does not know raises :class:`CalendarUnknownYear`; it is never guessed from weekends.

Counting follows local practice for 《行政许可法》 limits: the day of acceptance is not counted, so
"n working days after ``start``" is the n-th working day strictly after ``start``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

import chinese_calendar

from miaopi.clock.errors import CalendarFileError, CalendarProblem, CalendarUnknownYear
from miaopi.clock.overrides import YearOverride, read_override_file

Unit = Literal["工作日", "自然日", "即办"]
UNITS: tuple[str, ...] = get_args(Unit)
PACKAGE_SOURCE = f"chinesecalendar {chinese_calendar.__version__}"


def check_date(value: object, name: str = "日期") -> date:
    # datetime is a date subclass but compares unequal to dates, and its day depends on the time zone.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(
            f"{name}应为 datetime.date（不是 {type(value).__name__}；带时刻的值请先按北京时间取日期）"
        )
    return value


@dataclass(frozen=True)
class YearCalendar:
    """One year's arrangement: ``holidays`` are days off (weekend ones may be listed too),
    ``workdays`` are weekend days worked (调休). ``source`` says where it came from."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    working_days: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        first = date(self.year, 1, 1)
        days = (first + timedelta(days=offset) for offset in range((date(self.year + 1, 1, 1) - first).days))
        object.__setattr__(self, "working_days", tuple(day for day in days if self.is_working_day(day)))

    def is_working_day(self, day: date) -> bool:
        # Same rule as chinese_calendar.is_workday.
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


class WorkingCalendar:
    """Answers working-day questions for the years it knows; raises CalendarUnknownYear for others."""

    def __init__(self, years: Mapping[int, YearCalendar], override_path: Path | None = None) -> None:
        self._years = dict(years)
        self.override_path = override_path

    # -- construction ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, override_path: Path | None = None) -> WorkingCalendar:
        """chinesecalendar's years, with ``override_path`` (if given) applied on top.

        Raises CalendarFileError, naming the file, year and entry, if the override file is malformed.
        """
        years = package_years()
        if override_path is None:
            return cls(years)
        overrides, problems = read_override_file(override_path)
        problems.extend(_check_against_package(overrides, years))
        if problems:
            raise CalendarFileError(override_path, problems)
        source = f"覆盖文件 {override_path}"
        for year, override in overrides.items():
            years[year] = _apply(override, years.get(year), source)
        return cls(years, override_path)

    # -- what it knows --------------------------------------------------------------------------------

    @property
    def known_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def year(self, year: int) -> YearCalendar:
        try:
            return self._years[year]
        except KeyError:
            raise CalendarUnknownYear(year, self.known_years, self.override_path) from None

    def working_days_in_year(self, year: int) -> int:
        return len(self.year(year).working_days)

    # -- questions ------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        day = check_date(day)
        return self.year(day.year).is_working_day(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself is not counted); ``start`` if n == 0."""
        start = check_date(start, "起算日期")
        if n < 0:
            raise ValueError(f"工作日数不能为负数：{n}")
        if n == 0:
            return start
        remaining = n
        year = (start + timedelta(days=1)).year
        while True:
            days = self.year(year).working_days
            index = bisect_right(days, start)
            available = len(days) - index
            if remaining <= available:
                return days[index + remaining - 1]
            remaining -= available
            year += 1

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus those in (b, a]) when b is before a."""
        a, b = check_date(a), check_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        total = 0
        for year in range((a + timedelta(days=1)).year, b.year + 1):
            days = self.year(year).working_days
            total += bisect_right(days, b) - bisect_right(days, a)
        return total

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def deadline(self, accepted_on: date, limit: int, unit: Unit | str) -> date:
        """The last day of a time limit that starts on ``accepted_on``.

        工作日: the limit-th working day after acceptance; 自然日: acceptance plus ``limit`` calendar
        days; 即办: the day of acceptance. The acceptance day itself is never counted.
        """
        accepted_on = check_date(accepted_on, "受理日期")
        if unit not in UNITS:
            raise ValueError(f"时限单位应为 {' / '.join(UNITS)} 之一，而不是 {unit!r}")
        if unit == "即办":
            return accepted_on
        if limit < 0:
            raise ValueError(f"时限不能为负数：{limit}")
        if unit == "自然日":
            return accepted_on + timedelta(days=limit)
        return self.add_working_days(accepted_on, limit)


def deadline(accepted_on: date, limit: int, unit: Unit | str, *, calendar: WorkingCalendar) -> date:
    """Module-level form of :meth:`WorkingCalendar.deadline`."""
    return calendar.deadline(accepted_on, limit, unit)


def package_years() -> dict[int, YearCalendar]:
    """The years chinesecalendar knows (the span of its holiday table, as its own check uses)."""
    by_year: dict[int, tuple[set[date], set[date]]] = {}
    low = min(chinese_calendar.holidays).year
    high = max(chinese_calendar.holidays).year
    for year in range(low, high + 1):
        by_year[year] = (set(), set())
    for day in chinese_calendar.holidays:
        by_year[day.year][0].add(day)
    for day in chinese_calendar.workdays:
        by_year[day.year][1].add(day)
    return {
        year: YearCalendar(year, frozenset(off), frozenset(on), PACKAGE_SOURCE)
        for year, (off, on) in by_year.items()
    }


def _check_against_package(
    overrides: Mapping[int, YearOverride], package: Mapping[int, YearCalendar]
) -> Iterable[CalendarProblem]:
    low, high = min(package), max(package)
    for year, override in sorted(overrides.items()):
        known = package.get(year)
        if known is None and not override.complete:
            yield CalendarProblem(
                year,
                None,
                f"{PACKAGE_SOURCE} 只含 {low}–{high} 年，不认识 {year} 年；新的一年须整年声明："
                "写 complete: true 并列出全年的 holidays 和 workdays",
            )
            continue
        if override.complete:
            continue
        assert known is not None
        for day in sorted(override.workdays):
            if day.weekday() < 5 and day not in known.holidays:
                yield CalendarProblem(
                    year,
                    day.isoformat(),
                    f"{day.isoformat()} 在 {PACKAGE_SOURCE} 中本就是工作日，列入 workdays 没有作用",
                )


def _apply(override: YearOverride, known: YearCalendar | None, source: str) -> YearCalendar:
    if override.complete or known is None:
        return YearCalendar(override.year, override.holidays, override.workdays, source)
    holidays = (known.holidays - override.workdays) | override.holidays
    workdays = (known.workdays - override.holidays) | override.workdays
    return YearCalendar(override.year, holidays, workdays, f"{known.source}，经{source}修正")
