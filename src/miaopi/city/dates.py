"""Dates as int64 day numbers since 1970-01-01, vectorised."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from miaopi.city.draw import Ints
from miaopi.city.vocab import AS_OF

EPOCH = dt.date(1970, 1, 1)


def day(text: str) -> int:
    return (dt.date.fromisoformat(text) - EPOCH).days


TODAY = day(AS_OF)


def year_start(year: npt.ArrayLike) -> Ints:
    years = np.asarray(year, dtype=np.int64) - 1970
    return years.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def ymd(days: npt.ArrayLike) -> tuple[Ints, Ints, Ints]:
    stamps = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    years = stamps.astype("datetime64[Y]")
    months = stamps.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day_of_month = (stamps - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day_of_month


def add_years(days: npt.ArrayLike, years: npt.ArrayLike) -> Ints:
    """Same calendar day ``years`` later (29 February → 28 February in common years)."""
    year, month, day_of_month = ymd(days)
    target = year + np.asarray(years, dtype=np.int64)
    first = (target - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    next_first = (first + 1).astype("datetime64[D]").astype(np.int64)
    first_day = first.astype("datetime64[D]").astype(np.int64)
    return np.minimum(first_day + day_of_month - 1, next_first - 1)


def age_on(birth: Ints, on: npt.ArrayLike) -> Ints:
    """Completed years of age on the given day(s)."""
    by, bm, bd = ymd(birth)
    oy, om, od = ymd(np.broadcast_to(np.asarray(on, dtype=np.int64), birth.shape))
    return oy - by - ((om < bm) | ((om == bm) & (od < bd)))
