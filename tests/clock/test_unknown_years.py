"""Deadlines left open for a missing year: said in the log once an hour with a count, not each time."""

from __future__ import annotations

import logging

import pytest

from miaopi.clock import CalendarUnknownYear, UnknownYears


def test_each_missing_year_is_logged_once_then_once_an_hour_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    years = UnknownYears(
        logging.getLogger("test.calendar"), "cases left without a deadline", clock=lambda: now[0]
    )
    missing_2027 = CalendarUnknownYear(2027, (2025, 2026), None)
    missing_2028 = CalendarUnknownYear(2028, (2025, 2026), None)
    with caplog.at_level(logging.ERROR, "test.calendar"):
        for _ in range(500):
            years.left_open(missing_2027)
        years.left_open(missing_2028)  # another year is news of its own
        now[0] += 3599
        years.left_open(missing_2027)
        now[0] += 1
        years.left_open(missing_2027)  # an hour since it was last said
    said = [record.getMessage() for record in caplog.records]
    assert said == [
        f"working calendar: {missing_2027} (cases left without a deadline so far: 1)",
        f"working calendar: {missing_2028} (cases left without a deadline so far: 1)",
        f"working calendar: {missing_2027} (cases left without a deadline so far: 502)",
    ]
    assert all(record.levelno == logging.ERROR for record in caplog.records)
