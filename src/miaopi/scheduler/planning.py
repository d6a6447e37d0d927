"""Which jobs a case needs, from its current state:

- under review with a statutory deadline: a **reminder** at 09:00 (Beijing) N working days before
  the deadline (the item's ``reminder_days``, else the deployment's default, 3), and an
  **escalation** at the start of the first day after it (overdue);
- a renewal item (``deemed_approval``) submitted on or before the old licence's expiry, still open
  (under review or waiting for a correction): a **deemed approval** at the start of the day after
  the expiry (行政许可法 §50);
- anything else — decided, clock stopped by a special procedure (no deadline), a calendar year
  unknown — needs no reminder or escalation, and its pending ones are cancelled.

The due key is the deadline (or expiry) itself, so a moved deadline is a new job and the old one is
cancelled; planning twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from miaopi.approval.models import Application
from miaopi.approval.pipeline import CHINA
from miaopi.catalog import Item
from miaopi.clock import CalendarUnknownYear, WorkingCalendar
from miaopi.scheduler.store import Wanted

REMINDER, ESCALATION, DEEMED_APPROVAL = "reminder", "escalation", "deemed_approval"
KINDS = (REMINDER, ESCALATION, DEEMED_APPROVAL)
OPEN = ("review", "correction")
REMINDER_HOUR = 9


def china_moment(day: dt.date, hour: int = 0) -> dt.datetime:
    """``hour`` o'clock in Beijing on ``day``, as UTC."""
    return dt.datetime.combine(day, dt.time(hour), CHINA).astimezone(dt.UTC)


def reminder_day(calendar: WorkingCalendar, deadline: dt.date, days: int) -> dt.date:
    """The working day ``days`` working days before ``deadline``: (that day, deadline] holds
    exactly ``days`` working days."""
    day, remaining = deadline, days
    while remaining > 0:
        if calendar.is_working_day(day):
            remaining -= 1
        day -= dt.timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def licence_expiry(case: Application, item: Item) -> dt.date | None:
    """The old licence's last valid day, from the facts stored with the case."""
    if item.deemed_approval is None:
        return None
    stored: Any = (case.facts or {}).get(item.deemed_approval.expiry_fact) or {}
    value = stored.get("value") if isinstance(stored, dict) else None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def wanted_jobs(
    case: Application, item: Item | None, calendar: WorkingCalendar | None, reminder_days: int
) -> list[Wanted]:
    wanted: list[Wanted] = []
    deadline = case.statutory_deadline
    if case.status == "review" and deadline is not None:
        if calendar is not None:
            days = item.reminder_days if item is not None and item.reminder_days else reminder_days
            try:
                day = reminder_day(calendar, deadline, days)
                wanted.append(Wanted(REMINDER, deadline.isoformat(), china_moment(day, REMINDER_HOUR)))
            except CalendarUnknownYear:
                pass  # the year is reported by /health; the escalation still comes
        wanted.append(Wanted(ESCALATION, deadline.isoformat(), china_moment(deadline + dt.timedelta(days=1))))
    if case.status in OPEN and item is not None:
        expiry = licence_expiry(case, item)
        if expiry is not None and case.decision_date <= expiry:
            wanted.append(
                Wanted(DEEMED_APPROVAL, expiry.isoformat(), china_moment(expiry + dt.timedelta(days=1)))
            )
    return wanted
