"""Property tests over 2024–2026, checked against chinesecalendar's own functions."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from miaopi.clock import CaseClock, Limit, Suspension, WorkingCalendar

CALENDAR = WorkingCalendar.load(None)
# Late enough starts would count 60 working days into 2027, which the package does not know.
starts = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 9, 1))
days_2024_2026 = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=60))
def test_add_then_count(start: date, n: int) -> None:
    result = CALENDAR.add_working_days(start, n)
    assert CALENDAR.working_days_between(start, result) == n
    assert CALENDAR.is_working_day(result)
    assert chinese_calendar.is_workday(result)
    # The n-th, not a later one: one day earlier there were only n - 1.
    assert CALENDAR.working_days_between(start, result - timedelta(days=1)) == n - 1


@settings(max_examples=300, deadline=None)
@given(a=days_2024_2026, b=days_2024_2026)
def test_between_matches_chinesecalendar(a: date, b: date) -> None:
    low, high = min(a, b), max(a, b)
    expected = len(chinese_calendar.get_workdays(low + timedelta(days=1), high)) if low < high else 0
    assert CALENDAR.working_days_between(low, high) == expected
    assert CALENDAR.working_days_between(high, low) == -expected


@settings(max_examples=200, deadline=None)
@given(
    accepted=starts,
    limit=st.integers(min_value=1, max_value=30),
    extension=st.sampled_from([0, 10, 15]),
    offset=st.integers(min_value=1, max_value=40),
    length=st.integers(min_value=0, max_value=20),
)
def test_case_deadline_uses_exactly_the_limit(
    accepted: date, limit: int, extension: int, offset: int, length: int
) -> None:
    start = accepted + timedelta(days=offset)
    suspension = Suspension(start, start + timedelta(days=length))
    c = CaseClock(
        CALENDAR, accepted, statutory=Limit(limit), suspensions=(suspension,), extension_days=extension
    )
    due = c.statutory_deadline()
    assert due is not None
    assert CALENDAR.is_working_day(due) and not c.is_suspended(due)
    assert c.days_used(due) == limit + extension
    assert c.working_days_left(due) == 0
    assert c.days_used(due - timedelta(days=1)) == limit + extension - 1
    # Exactly the suspended working days up to the deadline were skipped.
    lost = CALENDAR.working_days_between(accepted, due) - (limit + extension)
    suspended_end = min(suspension.end or due, due)
    assert lost == max(0, CALENDAR.working_days_between(start - timedelta(days=1), suspended_end))
