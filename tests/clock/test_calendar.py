"""WorkingCalendar against the vectors in standards.md §6 and chinesecalendar itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from miaopi.clock import CalendarUnknownYear, WorkingCalendar, deadline
from tests.clock.conftest import WriteYaml


def test_standards_vectors(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert date(2025, 10, 11).weekday() == 5  # a Saturday, worked (调休)
    assert calendar.add_working_days(date(2025, 9, 26), 20) == date(2025, 10, 30)
    assert calendar.working_days_in_year(2025) == 248
    assert calendar.working_days_in_year(2026) == 248


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 28), True),  # Sunday, 调休
        (date(2025, 10, 11), True),  # Saturday, 调休
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),  # Wednesday inside the National Day break
        (date(2025, 10, 9), True),
        (date(2025, 10, 12), False),  # an ordinary Sunday
        (date(2026, 2, 14), True),  # Saturday, 调休
        (date(2026, 2, 28), True),  # Saturday, 调休
        (date(2026, 2, 13), True),
        (date(2026, 2, 24), True),
        (date(2026, 3, 1), False),
    ],
)
def test_known_days(calendar: WorkingCalendar, day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_spring_festival_2026_is_off(calendar: WorkingCalendar) -> None:
    for offset in range(9):
        assert not calendar.is_working_day(date(2026, 2, 15) + timedelta(days=offset))
    assert calendar.working_days_between(date(2026, 2, 14), date(2026, 2, 23)) == 0


def test_counting_across_the_2026_spring_festival(calendar: WorkingCalendar) -> None:
    # Accepted Wed 02-11: Thu 12, Fri 13, Sat 14 (worked), then 15..23 off, Tue 24, Wed 25.
    assert calendar.add_working_days(date(2026, 2, 11), 3) == date(2026, 2, 14)
    assert calendar.add_working_days(date(2026, 2, 11), 4) == date(2026, 2, 24)
    assert calendar.add_working_days(date(2026, 2, 11), 5) == date(2026, 2, 25)
    # Accepted Fri 02-06: 9..13 (5), 14 (6), 24..27 (10), Sat 28 (11), 3-02..06 (16), 3-09..12 (20).
    assert calendar.add_working_days(date(2026, 2, 6), 20) == date(2026, 3, 12)
    # Accepted on a holiday: counting starts the next day all the same.
    assert calendar.add_working_days(date(2026, 2, 17), 1) == date(2026, 2, 24)


def test_start_day_is_not_counted(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2025, 10, 9), 1) == date(2025, 10, 10)
    assert calendar.add_working_days(date(2025, 10, 9), 0) == date(2025, 10, 9)
    assert calendar.working_days_between(date(2025, 10, 9), date(2025, 10, 9)) == 0
    assert calendar.working_days_between(date(2025, 10, 9), date(2025, 10, 10)) == 1
    assert calendar.working_days_between(date(2025, 10, 10), date(2025, 10, 9)) == -1


def test_next_working_day(calendar: WorkingCalendar) -> None:
    assert calendar.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert calendar.next_working_day(date(2025, 10, 10)) == date(2025, 10, 11)
    assert calendar.next_working_day(date(2025, 10, 11)) == date(2025, 10, 13)


def test_between_across_years(calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(date(2024, 12, 31), date(2026, 12, 31)) == 248 + 248
    assert calendar.add_working_days(date(2024, 12, 31), 248) == date(2025, 12, 31)


def test_agrees_with_chinesecalendar_on_every_known_day(calendar: WorkingCalendar) -> None:
    assert calendar.known_years == tuple(range(2004, 2027))
    day = date(2004, 1, 1)
    while day.year <= 2026:
        assert calendar.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_deadline_units(calendar: WorkingCalendar) -> None:
    assert deadline(date(2025, 9, 26), 20, "工作日", calendar=calendar) == date(2025, 10, 30)
    # Natural days are plain calendar days, holidays included.
    assert deadline(date(2025, 9, 30), 10, "自然日", calendar=calendar) == date(2025, 10, 10)
    assert deadline(date(2025, 9, 30), 0, "自然日", calendar=calendar) == date(2025, 9, 30)
    assert deadline(date(2025, 10, 3), 0, "即办", calendar=calendar) == date(2025, 10, 3)
    assert calendar.deadline(date(2025, 10, 3), 5, "即办") == date(2025, 10, 3)


def test_deadline_rejects_bad_input(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="时限单位"):
        calendar.deadline(date(2025, 9, 26), 20, "天")
    with pytest.raises(ValueError, match="负数"):
        calendar.deadline(date(2025, 9, 26), -1, "工作日")
    with pytest.raises(ValueError, match="负数"):
        calendar.add_working_days(date(2025, 9, 26), -1)
    with pytest.raises(TypeError, match=r"datetime\.date"):
        calendar.is_working_day(datetime(2025, 10, 1, 9, 0))


# -- years the package does not know -------------------------------------------------------------------


def test_2027_is_unknown_to_the_package() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_unknown_year_fails_loudly(calendar: WorkingCalendar) -> None:
    with pytest.raises(CalendarUnknownYear) as caught:
        calendar.is_working_day(date(2027, 1, 4))  # an ordinary Monday: still not guessed
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.year == 2027
    message = str(error)
    assert "2027 年" in message
    assert "2004–2026" in message
    assert "覆盖文件" in message and "calendar.yaml" in message and "complete: true" in message
    with pytest.raises(CalendarUnknownYear):
        calendar.is_working_day(date(2003, 6, 2))


def test_counting_into_an_unknown_year_fails(calendar: WorkingCalendar) -> None:
    # Sun 2026-12-20: 21..25 and 28..31 are the 9 working days left in 2026.
    assert calendar.add_working_days(date(2026, 12, 20), 9) == date(2026, 12, 31)
    with pytest.raises(CalendarUnknownYear, match="2027"):
        calendar.add_working_days(date(2026, 12, 20), 10)
    with pytest.raises(CalendarUnknownYear, match="2027"):
        calendar.working_days_between(date(2026, 12, 20), date(2027, 1, 5))
    with pytest.raises(CalendarUnknownYear, match="2027"):
        calendar.next_working_day(date(2026, 12, 31))


def test_override_declares_2027(calendar_2027: WorkingCalendar) -> None:
    cal = calendar_2027
    assert cal.known_years[-1] == 2027
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 1, 4))
    assert cal.is_working_day(date(2027, 10, 9))  # declared 调休 Saturday
    assert not cal.is_working_day(date(2027, 10, 4))
    assert cal.add_working_days(date(2027, 9, 30), 1) == date(2027, 10, 8)
    assert cal.add_working_days(date(2027, 9, 30), 2) == date(2027, 10, 9)
    # Across the year end: 9 working days in late 2026, then Jan 1 off, 4..8, 11..15, 18.
    assert cal.add_working_days(date(2026, 12, 20), 20) == date(2027, 1, 18)
    assert cal.working_days_between(date(2026, 12, 20), date(2027, 1, 18)) == 20
    assert cal.year(2027).source.startswith("覆盖文件")
    # The package's years are untouched.
    assert cal.working_days_in_year(2026) == 248
    # 365 days - 104 weekend days - 18 weekday holidays + 5 worked weekend days; the weekday
    # holidays: Jan 1; Feb 5, 8..12; Apr 5; May 3..5; Jun 9; Sep 15; Oct 1, 4..7.
    assert cal.working_days_in_year(2027) == 365 - 104 - (1 + 6 + 1 + 3 + 1 + 1 + 5) + 5
    with pytest.raises(CalendarUnknownYear) as caught:
        cal.is_working_day(date(2028, 1, 3))
    assert "calendar.yaml" in str(caught.value) and "2004–2027" in str(caught.value)


def test_override_corrects_a_known_year(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        """
2026:
  source: 测试：假设的修正
  holidays: [2026-12-31, 2026-02-28]
  workdays: [2026-10-07]
"""
    )
    cal = WorkingCalendar.load(path)
    assert not cal.is_working_day(date(2026, 12, 31))  # Thursday made a holiday
    assert not cal.is_working_day(date(2026, 2, 28))  # the package's 调休 Saturday removed
    assert cal.is_working_day(date(2026, 10, 7))  # the package's holiday made a working day
    assert cal.is_working_day(date(2026, 2, 14))  # the rest of the package still applies
    assert cal.working_days_in_year(2026) == 248 - 2 + 1


def test_complete_override_replaces_a_known_year(write_yaml: WriteYaml) -> None:
    path = write_yaml("2026:\n  complete: true\n  holidays: [2026-01-01]\n")
    cal = WorkingCalendar.load(path)
    assert cal.is_working_day(date(2026, 2, 16))  # the package's Spring Festival is gone
    assert not cal.is_working_day(date(2026, 2, 14))
    assert cal.working_days_in_year(2026) == 365 - 104 - 1


def test_empty_override_file_changes_nothing(write_yaml: WriteYaml, calendar: WorkingCalendar) -> None:
    cal = WorkingCalendar.load(write_yaml("# nothing yet\n"))
    assert cal.known_years == calendar.known_years
    assert cal.override_path is not None and isinstance(cal.override_path, Path)
