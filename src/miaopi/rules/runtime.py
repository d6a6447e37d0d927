"""Helpers called by generated Python code. Each mirrors the SQL the same node compiles to (see sql_target)."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import numbers
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from miaopi.rules.errors import EvaluationError
from miaopi.rules.types import FactType

# The exact class each fact type is held in; other classes go through coerce().
FAST_CLASS: dict[FactType, type] = {
    FactType.BOOLEAN: bool,
    FactType.INTEGER: int,
    FactType.NUMBER: float,
    FactType.STRING: str,
    FactType.DATE: dt.date,
}


def coerce(value: object, type_: FactType, name: str) -> object:
    """Normalise a fact value to its type's class, or raise EvaluationError naming the fact."""
    if type_ is FactType.BOOLEAN and isinstance(value, bool):
        return bool(value)
    if type_ is FactType.INTEGER and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if type_ is FactType.NUMBER and isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool):
        return float(value)
    if type_ is FactType.STRING and isinstance(value, str):
        return str(value)
    if type_ is FactType.DATE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.date(value.year, value.month, value.day)
    raise EvaluationError(
        f"事实 {name} 应为 {type_.value} 类型，实际为 {type(value).__name__} "
        f"(fact {name} must be {type_.value}, got {type(value).__name__}: {value!r:.60})"
    )


def mod(a: float, b: float) -> float | None:
    """SQL % : remainder with the sign of the dividend; NULL when dividing by zero."""
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    return math.fmod(a, b)


def _round_half_away(value: float) -> float:
    """C's round(): halves away from zero, exact (no +0.5 double-rounding trap)."""
    if not math.isfinite(value):
        return value
    magnitude = abs(value)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:
        whole += 1
    return math.copysign(float(whole), value)


def round_number(value: float, digits: int) -> float:
    """ROUND(number, digits): ROUND(value * 10^digits) / 10^digits in doubles, halves away from zero
    (DuckDB 1.x's ROUND(DOUBLE, digits), operation for operation; the SQL targets spell it out)."""
    if digits < 0:
        modifier = 10.0 ** (-digits)
        rounded = _round_half_away(value / modifier) * modifier
        return rounded if math.isfinite(rounded) else 0.0
    modifier = 10.0**digits
    rounded = _round_half_away(value * modifier) / modifier
    return rounded if math.isfinite(rounded) else value


def round_integer(value: int, digits: int) -> int:
    """ROUND(BIGINT, digits): unchanged for digits >= 0, else halves away from zero at 10^-digits."""
    if digits >= 0:
        return value
    modifier = 10 ** (-digits)
    quotient, remainder = divmod(abs(value), modifier)
    if 2 * remainder >= modifier:
        quotient += 1
    return quotient * modifier if value >= 0 else -quotient * modifier


def floor(value: float) -> float:
    return float(math.floor(value)) if math.isfinite(value) else value


def ceil(value: float) -> float:
    return float(math.ceil(value)) if math.isfinite(value) else value


def in_list(subject: object, items: Sequence[object]) -> bool | None:
    """SQL IN with NULLs: TRUE if some item equals, else NULL if the subject or some item is NULL, else FALSE."""
    if subject is None:
        return None
    unknown = False
    for item in items:
        if item is None:
            unknown = True
        elif item == subject:
            return True
    return None if unknown else False


def between(subject: object, low: object, high: object) -> bool | None:
    """subject >= low AND subject <= high, with Kleene AND."""
    if subject is None:
        return None
    above = None if low is None else subject >= low  # type: ignore[operator]
    below = None if high is None else subject <= high  # type: ignore[operator]
    if above is False or below is False:
        return False
    if above is None or below is None:
        return None
    return True


def like_matcher(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """A full-match function for a LIKE pattern: % any run, _ any one character, no escape character."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.DOTALL).fullmatch


def years_between(start: dt.date, end: dt.date) -> int:
    """Full years from start to end: floor of the (year, month, day) difference, like an age."""
    a = start.year * 10000 + start.month * 100 + start.day
    b = end.year * 10000 + end.month * 100 + end.day
    return (b - a) // 10000


def months_between(start: dt.date, end: dt.date) -> int:
    """Full months from start to end: month difference, minus one if end's day is before start's."""
    a = (start.year * 12 + start.month) * 100 + start.day
    b = (end.year * 12 + end.month) * 100 + end.day
    return (b - a) // 100


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic clamped to the month's last day (2024-01-31 + 1 month = 2024-02-29)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise EvaluationError(f"日期超出范围 (date out of range): {day} + {months} 个月 (months)")
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def add_days(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        raise EvaluationError(f"日期超出范围 (date out of range): {day} + {days} 天 (days)") from None


def is_null(value: object) -> bool:
    """IS NULL of an expression Python folds to a constant (``(0 / 1) is None`` warns at compile time)."""
    return value is None


NAMESPACE: dict[str, object] = {
    "__builtins__": {},
    "float": float,
    "len": len,
    "abs": abs,
    "min": min,
    "max": max,
    "_coerce": coerce,
    "_mod": mod,
    "_round_number": round_number,
    "_round_integer": round_integer,
    "_floor": floor,
    "_ceil": ceil,
    "_in": in_list,
    "_between": between,
    "_years_between": years_between,
    "_months_between": months_between,
    "_add_months": add_months,
    "_add_years": add_years,
    "_add_days": add_days,
    "_is_null": is_null,
    **{f"_cls_{t.value}": cls for t, cls in FAST_CLASS.items()},
    **{f"_type_{t.value}": t for t in FactType},
}
