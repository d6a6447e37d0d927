"""CaseClock: statutory and promised deadlines with suspensions (§45, 补正) and extension (§42).

Expected dates are counted by hand in the comments (2025 National Day: 10-01..08 off, Sun 09-28 and
Sat 10-11 worked; 2026 Spring Festival: 02-15..23 off, Sat 02-14 and Sat 02-28 worked).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from miaopi.catalog.model import TimeLimit
from miaopi.clock import CalendarUnknownYear, CaseClock, Limit, Suspension, WorkingCalendar

ACCEPTED = date(2025, 9, 26)  # Friday
# Counted: 09-28 (1), 29, 30 (3), 10-09, 10, 11 (6), 13..17 (11), 20..24 (16), 27..30 (20).
BASE_DEADLINE = date(2025, 10, 30)


def clock(calendar: WorkingCalendar, *suspensions: Suspension, extension: int = 0) -> CaseClock:
    return CaseClock(
        calendar,
        ACCEPTED,
        statutory=Limit(20, "工作日"),
        promised=Limit(5, "工作日"),
        suspensions=suspensions,
        extension_days=extension,
    )


def test_plain_deadlines(calendar: WorkingCalendar) -> None:
    c = clock(calendar)
    assert c.statutory_deadline() == BASE_DEADLINE
    assert c.deadline("statutory") == BASE_DEADLINE
    # 09-28, 29, 30, 10-09, 10-10.
    assert c.promised_deadline() == date(2025, 10, 10)
    assert c.deadline("promised") == date(2025, 10, 10)


def test_five_suspended_working_days_move_the_deadline_past_them(calendar: WorkingCalendar) -> None:
    # Mon 10-13..Fri 10-17 suspended: 09-28..10-11 (6), 20..24 (11), 27..31 (16), 11-03..06 (20).
    c = clock(calendar, Suspension(date(2025, 10, 13), date(2025, 10, 17), "专家评审"))
    assert c.statutory_deadline() == date(2025, 11, 6)
    assert c.statutory_deadline() == calendar.add_working_days(BASE_DEADLINE, 5)
    assert c.promised_deadline() == date(2025, 10, 10)  # reached before the suspension began
    assert c.is_suspended(date(2025, 10, 15))
    assert not c.is_suspended(date(2025, 10, 18))


def test_suspension_over_holidays_only_changes_nothing(calendar: WorkingCalendar) -> None:
    c = clock(calendar, Suspension(date(2025, 10, 1), date(2025, 10, 8), "补正"))
    assert c.statutory_deadline() == BASE_DEADLINE


def test_suspension_counts_a_worked_saturday(calendar: WorkingCalendar) -> None:
    # Thu 10-09, Fri 10-10, Sat 10-11 (worked) are lost; Sun 10-12 was not counting anyway.
    c = clock(calendar, Suspension(date(2025, 10, 9), date(2025, 10, 12), "补正"))
    assert c.statutory_deadline() == date(2025, 11, 4)  # 10-31, 11-03, 11-04
    # The promised 5 days: 09-28, 29, 30, then 10-13, 10-14.
    assert c.promised_deadline() == date(2025, 10, 14)


def test_overlapping_suspensions_count_once(calendar: WorkingCalendar) -> None:
    c = clock(
        calendar,
        Suspension(date(2025, 10, 14), date(2025, 10, 17), "检验检测"),
        Suspension(date(2025, 10, 13), date(2025, 10, 15), "听证"),
    )
    assert c.statutory_deadline() == date(2025, 11, 6)


def test_extension_of_ten(calendar: WorkingCalendar) -> None:
    # 10-31 (1), 11-03..07 (6), 11-10..13 (10).
    assert clock(calendar, extension=10).statutory_deadline() == date(2025, 11, 13)
    assert clock(calendar).extend(10).statutory_deadline() == date(2025, 11, 13)
    assert clock(calendar).extend().extension_days == 10
    # The extension moves the promised deadline too: 10-10 + 10 → Sat 10-11 (1), 13..17 (6), 20..23 (10).
    assert clock(calendar, extension=10).promised_deadline() == date(2025, 10, 23)


def test_extension_and_suspension(calendar: WorkingCalendar) -> None:
    c = clock(calendar, Suspension(date(2025, 10, 13), date(2025, 10, 17)), extension=10)
    # 11-06 + 10: 11-07 (1), 10..14 (6), 17..20 (10).
    assert c.statutory_deadline() == date(2025, 11, 20)


def test_days_left_and_overdue(calendar: WorkingCalendar) -> None:
    c = clock(calendar)
    assert c.working_days_left(ACCEPTED) == 20
    assert c.working_days_left(date(2025, 9, 30)) == 17
    assert c.working_days_left(date(2025, 10, 8)) == 17  # holidays do not use the clock
    assert c.working_days_left(BASE_DEADLINE) == 0
    assert not c.is_overdue(BASE_DEADLINE)
    assert c.working_days_left(date(2025, 10, 31)) == -1
    assert c.is_overdue(date(2025, 10, 31))
    assert c.working_days_left(date(2025, 10, 10), "promised") == 0
    assert c.is_overdue(date(2025, 10, 11), "promised")
    assert c.days_used(BASE_DEADLINE) == 20


def test_overdue_on_the_weekend_after_a_friday_deadline(calendar: WorkingCalendar) -> None:
    c = CaseClock(calendar, date(2025, 10, 16), statutory=Limit(1))
    assert c.statutory_deadline() == date(2025, 10, 17)  # Friday
    assert c.is_overdue(date(2025, 10, 18))  # Saturday: the last day has passed
    assert c.working_days_left(date(2025, 10, 18)) == 0
    assert c.working_days_left(date(2025, 10, 20)) == -1


def test_running_suspension_stops_the_clock(calendar: WorkingCalendar) -> None:
    c = clock(calendar).suspend(date(2025, 10, 13), reason="补正")
    assert c.statutory_deadline() is None
    assert c.promised_deadline() == date(2025, 10, 10)  # ran out before the suspension
    assert c.working_days_left(date(2025, 10, 20)) == 14  # 6 used before 10-13, none since
    assert c.working_days_left(date(2026, 3, 2)) == 14
    assert not c.is_overdue(date(2026, 3, 2))
    assert c.is_suspended(date(2026, 3, 2))
    resumed = c.resume(date(2025, 10, 17))
    assert resumed.statutory_deadline() == date(2025, 11, 6)
    with pytest.raises(ValueError, match="没有尚未结束"):
        resumed.resume(date(2025, 10, 20))


def test_suspension_after_the_deadline_does_not_rescue_it(calendar: WorkingCalendar) -> None:
    c = clock(calendar).suspend(date(2025, 11, 3))
    assert c.statutory_deadline() == BASE_DEADLINE
    assert c.is_overdue(date(2025, 11, 3))


def test_spring_festival_2026(calendar: WorkingCalendar) -> None:
    c = CaseClock(calendar, date(2026, 2, 6), statutory=Limit(20), promised=Limit(5))
    # 02-09..13 (5), 14 (6), 24..27 (10), 28 (11), 03-02..06 (16), 03-09..12 (20).
    assert c.statutory_deadline() == date(2026, 3, 12)
    assert c.promised_deadline() == date(2026, 2, 13)
    # Thu 02-12, Fri 02-13 and the worked Sat 02-14 suspended: 09, 10, 11, then 24, 25.
    s = c.suspend(date(2026, 2, 12), date(2026, 2, 14), "补正")
    assert s.promised_deadline() == date(2026, 2, 25)
    assert s.statutory_deadline() == calendar.add_working_days(date(2026, 3, 12), 3)
    assert s.working_days_left(date(2026, 2, 23), "promised") == 2


def test_natural_days(calendar: WorkingCalendar) -> None:
    c = CaseClock(calendar, ACCEPTED, statutory=Limit(30, "自然日"))
    assert c.statutory_deadline() == date(2025, 10, 26)
    assert c.working_days_left(date(2025, 10, 1)) == 25
    # Five suspended calendar days, holidays or not.
    assert c.suspend(date(2025, 10, 1), date(2025, 10, 5)).statutory_deadline() == date(2025, 10, 31)


def test_instant(calendar: WorkingCalendar) -> None:
    c = CaseClock(calendar, date(2025, 10, 3), statutory=Limit(0, "即办"))
    assert c.statutory_deadline() == date(2025, 10, 3)  # even on a holiday
    assert not c.is_overdue(date(2025, 10, 3))
    assert c.is_overdue(date(2025, 10, 4))
    with pytest.raises(ValueError, match="即办件不能延长"):
        c.extend(10).statutory_deadline()


def test_catalogue_time_limit_is_accepted(calendar: WorkingCalendar) -> None:
    c = CaseClock(calendar, ACCEPTED, statutory=TimeLimit(20, "工作日"), promised=TimeLimit(5, "工作日"))
    assert c.statutory_deadline() == BASE_DEADLINE
    assert c.promised_deadline() == date(2025, 10, 10)


def test_unknown_year_reaches_the_case_clock(
    calendar: WorkingCalendar, calendar_2027: WorkingCalendar
) -> None:
    with pytest.raises(CalendarUnknownYear, match="2027"):
        CaseClock(calendar, date(2026, 12, 10), statutory=Limit(20)).statutory_deadline()
    # 12-11 (1), 14..18 (6), 21..25 (11), 28..31 (15); 2027-01-01 off (test override), 01-04..08 (20).
    c = CaseClock(calendar_2027, date(2026, 12, 10), statutory=Limit(20))
    assert c.statutory_deadline() == date(2027, 1, 8)


def test_invalid_clocks(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="早于开始日期"):
        Suspension(date(2025, 10, 17), date(2025, 10, 13))
    with pytest.raises(ValueError, match="受理日"):
        clock(calendar, Suspension(ACCEPTED, date(2025, 10, 1)))
    with pytest.raises(ValueError, match="负数"):
        clock(calendar, extension=-1)
    with pytest.raises(ValueError, match="时限单位"):
        CaseClock(calendar, ACCEPTED, statutory=TimeLimit(20, "天"))
    with pytest.raises(ValueError, match="非负整数"):
        Limit(-1)
    with pytest.raises(ValueError, match="承诺时限"):
        CaseClock(calendar, ACCEPTED, statutory=Limit(5), promised=Limit(20))
    with pytest.raises(ValueError, match="尚未结束"):
        clock(calendar, Suspension(date(2025, 10, 13)), Suspension(date(2025, 10, 20)))
    with pytest.raises(ValueError, match="没有承诺时限"):
        CaseClock(calendar, ACCEPTED, statutory=Limit(20)).deadline("promised")
    with pytest.raises(TypeError):
        CaseClock(calendar, datetime(2025, 9, 26, 10, 0), statutory=Limit(20))
