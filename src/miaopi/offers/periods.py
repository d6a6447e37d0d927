"""Benefit periods (发放期) as labels: a year ``2026``, a quarter ``2026-Q4``, a month ``2026-11``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_FORMS = {
    "year": (re.compile(r"^(\d{4})$"), "YYYY，如 2026"),
    "quarter": (re.compile(r"^(\d{4})-Q([1-4])$"), "YYYY-Qn，如 2026-Q4"),
    "month": (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "YYYY-MM，如 2026-11"),
}


class PeriodError(ValueError):
    """A period label that does not fit the policy's period kind."""


@dataclass(frozen=True)
class Period:
    label: str
    first_day: dt.date
    last_day: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day


def period_of(day: dt.date, kind: str) -> Period:
    """The period of ``kind`` (year / quarter / month) that contains ``day``."""
    if kind == "year":
        return parse_period(f"{day.year}", kind)
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}", kind)
    return parse_period(f"{day.year}-{day.month:02d}", kind)


def parse_period(label: str, kind: str) -> Period:
    if kind not in _FORMS:
        raise PeriodError(f"未知的发放期类型“{kind}”")
    pattern, form = _FORMS[kind]
    match = pattern.match(label.strip())
    if match is None:
        raise PeriodError(f"发放期“{label}”格式有误：本政策按{_KIND_NAMES[kind]}发放，应为 {form}")
    year = int(match.group(1))
    if kind == "year":
        return Period(label.strip(), dt.date(year, 1, 1), dt.date(year, 12, 31))
    first_month = (int(match.group(2)) - 1) * 3 + 1 if kind == "quarter" else int(match.group(2))
    months = 3 if kind == "quarter" else 1
    first = dt.date(year, first_month, 1)
    after = dt.date(year + (first_month + months - 1) // 12, (first_month + months - 1) % 12 + 1, 1)
    return Period(label.strip(), first, after - dt.timedelta(days=1))


_KIND_NAMES = {"year": "年", "quarter": "季度", "month": "月"}
