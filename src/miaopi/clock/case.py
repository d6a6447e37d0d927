"""A case's clock: statutory and promised deadlines from acceptance, with suspensions and an extension.

- 《行政许可法》§42: decide within the limit counted from acceptance; the head may approve an extension
  (10 working days; 15 for jointly handled items). ``extension_days`` is that approved extension; it
  moves both the statutory and the promised deadline, since it is the case's time that was extended.
- §45 (hearings, tenders, inspection, expert review) and requests for correction (补正) stop the clock:
  a day inside a suspension does not count. A suspension without an end date is still running: the
  case then has no deadline until it ends (unless the limit had already run out before it began).
- The acceptance day is never counted (local practice); §82: the limits are in working days.

Everything here is a pure calculation over a :class:`WorkingCalendar`; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal, Protocol

from miaopi.clock.calendar import UNITS, Unit, WorkingCalendar, check_date

Which = Literal["statutory", "promised"]


class LimitLike(Protocol):
    """Anything with ``value`` and ``unit`` — :class:`Limit`, or the catalogue's ``TimeLimit``."""

    @property
    def value(self) -> int: ...

    @property
    def unit(self) -> str: ...


@dataclass(frozen=True)
class Limit:
    value: int
    unit: Unit = "工作日"

    def __post_init__(self) -> None:
        _check_limit(self)

    def __str__(self) -> str:
        return "即办" if self.unit == "即办" else f"{self.value}个{self.unit}"


@dataclass(frozen=True)
class Suspension:
    """The clock stops from ``start`` to ``end`` inclusive; ``end`` None: still suspended."""

    start: date
    end: date | None = None
    reason: str = ""  # e.g. 听证, 检验检测, 专家评审, 补正

    def __post_init__(self) -> None:
        check_date(self.start, "中止开始日期")
        if self.end is not None:
            check_date(self.end, "中止结束日期")
            if self.end < self.start:
                raise ValueError(f"中止期间的结束日期 {self.end} 早于开始日期 {self.start}")

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class CaseClock:
    """The clock of one case, accepted on ``accepted_on``.

    ``working_days_left`` and ``is_overdue`` count in the limit's own unit (working or calendar days).
    ``which`` selects the statutory (法定时限, default) or the promised limit (承诺时限).
    """

    calendar: WorkingCalendar
    accepted_on: date
    statutory: LimitLike
    promised: LimitLike | None = None
    suspensions: tuple[Suspension, ...] = ()
    extension_days: int = 0

    def __post_init__(self) -> None:
        check_date(self.accepted_on, "受理日期")
        for limit in (self.statutory, self.promised):
            if limit is not None:
                _check_limit(limit)
        if (
            self.promised is not None
            and self.promised.unit == self.statutory.unit
            and self.promised.value > self.statutory.value
        ):
            raise ValueError(f"承诺时限 {self.promised.value} 长于法定时限 {self.statutory.value}")
        if self.extension_days < 0:
            raise ValueError(f"延长的工作日数不能为负数：{self.extension_days}")
        for suspension in self.suspensions:
            if suspension.start <= self.accepted_on:
                raise ValueError(f"中止期间应在受理日 {self.accepted_on} 之后开始，而不是 {suspension.start}")
        open_ended = [suspension for suspension in self.suspensions if suspension.end is None]
        if len(open_ended) > 1:
            raise ValueError("同时只能有一个尚未结束的中止期间")
        object.__setattr__(self, "suspensions", tuple(sorted(self.suspensions, key=lambda s: s.start)))

    # -- new clocks -----------------------------------------------------------------------------------

    def suspend(self, start: date, end: date | None = None, reason: str = "") -> CaseClock:
        return replace(self, suspensions=(*self.suspensions, Suspension(start, end, reason)))

    def resume(self, end: date) -> CaseClock:
        """Close the running suspension on ``end`` (the last suspended day)."""
        running = [s for s in self.suspensions if s.end is None]
        if not running:
            raise ValueError("没有尚未结束的中止期间")
        rest = tuple(s for s in self.suspensions if s.end is not None)
        return replace(self, suspensions=(*rest, replace(running[0], end=end)))

    def extend(self, days: int = 10) -> CaseClock:
        """The clock after an approved extension of ``days`` working days (§42: 10)."""
        return replace(self, extension_days=self.extension_days + days)

    # -- answers --------------------------------------------------------------------------------------

    def statutory_deadline(self) -> date | None:
        """The last day to decide, or None while a suspension is running (the clock is stopped)."""
        return self._deadline(self.statutory)

    def promised_deadline(self) -> date | None:
        return None if self.promised is None else self._deadline(self.promised)

    def deadline(self, which: Which = "statutory") -> date | None:
        return self._deadline(self._limit(which))

    def is_suspended(self, on: date) -> bool:
        return any(suspension.covers(on) for suspension in self.suspensions)

    def days_used(self, on: date, which: Which = "statutory") -> int:
        """Counted days in (accepted_on, on]: working (or calendar) days outside every suspension."""
        on = check_date(on)
        counts = self._counts(self._limit(which))
        used, day = 0, self.accepted_on + timedelta(days=1)
        while day <= on:
            used += counts(day)
            day += timedelta(days=1)
        return used

    def working_days_left(self, on: date, which: Which = "statutory") -> int:
        """Limit (with extension) minus days used up to and including ``on``; negative once overdue."""
        limit = self._limit(which)
        if limit.unit == "即办":
            return 0
        return limit.value + self.extension_days - self.days_used(on, which)

    def is_overdue(self, on: date, which: Which = "statutory") -> bool:
        """True when ``on`` is after the deadline (e.g. the Saturday after a Friday deadline)."""
        on = check_date(on)
        due = self.deadline(which)
        return due is not None and on > due

    # -- internals ------------------------------------------------------------------------------------

    def _limit(self, which: Which) -> LimitLike:
        if which == "statutory":
            return self.statutory
        if which == "promised":
            if self.promised is None:
                raise ValueError("此办件没有承诺时限")
            return self.promised
        raise ValueError(f"which 应为 statutory 或 promised，而不是 {which!r}")

    def _counts(self, limit: LimitLike) -> Callable[[date], int]:
        working = limit.unit == "工作日"

        def counts(day: date) -> int:
            if self.is_suspended(day):
                return 0
            return 1 if not working or self.calendar.is_working_day(day) else 0

        return counts

    def _deadline(self, limit: LimitLike) -> date | None:
        if limit.unit == "即办":
            if self.extension_days:
                raise ValueError("即办件不能延长时限")
            return self.accepted_on
        counts = self._counts(limit)
        running = next((s.start for s in self.suspensions if s.end is None), None)
        remaining = limit.value + self.extension_days
        day = self.accepted_on
        while remaining > 0:
            day += timedelta(days=1)
            if running is not None and day >= running:
                return None  # the clock stopped before the limit ran out
            remaining -= counts(day)
        return day


def _check_limit(limit: LimitLike) -> None:
    if limit.unit not in UNITS:
        raise ValueError(f"时限单位应为 {' / '.join(UNITS)} 之一，而不是 {limit.unit!r}")
    if isinstance(limit.value, bool) or not isinstance(limit.value, int) or limit.value < 0:
        raise ValueError(f"时限应为非负整数，而不是 {limit.value!r}")
