"""A case's deadlines from its clock: accepted on the decision date, the item's limits, the periods
spent on corrections and special procedures (the clock stops, 行政许可法 §32/§45; while a special
procedure runs the case has no deadline), and an approved extension (§42)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application
from miaopi.approval.pipeline import CHINA
from miaopi.catalog import Catalog
from miaopi.clock import CalendarUnknownYear, CaseClock, Suspension, WorkingCalendar
from miaopi.review.models import Correction, SpecialProcedure


def _china(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CHINA).date()


def restart_clock(
    session: Session, case: Application, catalog: Catalog, calendar: WorkingCalendar | None
) -> None:
    """Recompute the case's statutory and promised deadlines in place."""
    deadlines = clock_deadlines(session, case, catalog, calendar)
    if deadlines is not None:
        case.statutory_deadline, case.promised_deadline = deadlines


def clock_deadlines(
    session: Session, case: Application, catalog: Catalog, calendar: WorkingCalendar | None
) -> tuple[dt.date | None, dt.date | None] | None:
    """The case's statutory and promised deadlines from its clock, each None where the calendar does
    not know a year it needs (never a stale or guessed date); None without a calendar or item."""
    item = catalog.items.get(case.item_code)
    if calendar is None or item is None:
        return None
    periods = session.scalars(
        select(Correction).where(Correction.case_no == case.case_no, Correction.submitted_at.is_not(None))
    ).all()
    procedures = session.scalars(
        select(SpecialProcedure).where(SpecialProcedure.case_no == case.case_no).order_by(SpecialProcedure.id)
    ).all()
    # The acceptance day itself is never counted, so a period starting on it starts, for the clock,
    # on the day after.
    first = case.decision_date + dt.timedelta(days=1)

    def period(start: dt.datetime, end: dt.datetime | None, reason: str) -> Suspension:
        begins = max(_china(start), first)
        return Suspension(begins, None if end is None else max(_china(end), begins), reason)

    suspensions = tuple(
        period(correction.requested_at, correction.submitted_at, "补正")
        for correction in periods
        if correction.submitted_at is not None
    ) + tuple(period(procedure.started_at, procedure.ended_at, procedure.kind) for procedure in procedures)
    clock = CaseClock(
        calendar,
        case.decision_date,
        item.statutory_limit,
        item.promised_limit,
        suspensions,
        extension_days=case.extension_days or 0,
    )
    try:
        statutory = clock.statutory_deadline()
    except CalendarUnknownYear:
        statutory = None
    try:
        promised = clock.promised_deadline()
    except CalendarUnknownYear:
        promised = None
    return statutory, promised
