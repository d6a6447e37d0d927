"""The scheduler: plans each open case's jobs and runs the due ones.

``Scheduler.plan`` is a clock listener of the review queue, corrections and special procedures: a
change of a case's clock or state re-plans its jobs in the same transaction. ``reconcile`` (at the
start of every round) plans the cases nobody told it about — new cases routed to review, a review
the applicant asked for — by comparing each open case with the state its jobs were planned from.

Any number of runners may run against one case store (``miaopi serve`` runs one in a background
thread of each process; ``miaopi scheduler run`` is a standalone one): claims are atomic and leased,
so each job runs once. ``now`` is injectable, so tests move time without sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from miaopi.approval.models import Application
from miaopi.catalog import Catalog
from miaopi.clock import WorkingCalendar
from miaopi.review.alerts import SCHEDULER, DeadlineAlerts
from miaopi.review.deadlines import clock_deadlines
from miaopi.review.models import SpecialProcedure
from miaopi.review.queue import record_step
from miaopi.scheduler.models import CasePlan
from miaopi.scheduler.planning import DEEMED_APPROVAL, ESCALATION, KINDS, OPEN, REMINDER, wanted_jobs
from miaopi.scheduler.store import Claimed, JobStore, LeaseLost
from miaopi.store.insert_new import dialect_insert

log = logging.getLogger("miaopi.scheduler")
# Planning reads a case's status, dates and facts: the decision's explanation, reasons, materials,
# form and timings (most of a stored case) stay in the database.
LIGHT = tuple(
    defer(column)
    for column in (
        Application.explanation,
        Application.reasons,
        Application.materials,
        Application.form,
        Application.timings,
    )
)

Handler = Callable[[Session, Claimed, dt.datetime], str]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RoundReport:
    planned: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    outcomes: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        alerts: DeadlineAlerts,
        catalog: Catalog,
        calendar: WorkingCalendar | None,
        *,
        now: Callable[[], dt.datetime] = utc_now,
        owner: str | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        max_attempts: int = 5,
        backoff: dt.timedelta = dt.timedelta(minutes=1),
        reminder_days: int = 3,
        interval: float = 30.0,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.alerts = alerts
        self.database = alerts.database
        self.store = JobStore(self.database)
        self.catalog = catalog
        self.calendar = calendar
        self.now = now
        self.owner = owner or runner_name()
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.reminder_days = reminder_days
        self.interval = interval
        self._deadlines_filled = False  # the calendar does not change while this runner lives
        self.handlers: dict[str, Handler] = {
            REMINDER: lambda session, job, at: alerts.remind(session, job.target, _day(job), at),
            ESCALATION: lambda session, job, at: alerts.escalate(session, job.target, _day(job), at),
            DEEMED_APPROVAL: lambda session, job, at: alerts.deem_approved(
                session, job.target, _day(job), at
            ),
        }
        self.handlers.update(handlers or {})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- planning -----------------------------------------------------------------------------------

    def plan(self, session: Session, case: Application) -> None:
        """Bring the case's jobs in line with its current state, in the caller's transaction."""
        now = self.now()
        item = self.catalog.items.get(case.item_code)
        wanted = wanted_jobs(case, item, self.calendar, self.reminder_days)
        self.store.schedule(session, case.case_no, wanted, KINDS, now)
        if case.status not in OPEN:  # closed: nothing more to plan, ever
            session.execute(delete(CasePlan).where(CasePlan.case_no == case.case_no))
            return
        values = {"status": case.status, "statutory_deadline": case.statutory_deadline, "planned_at": now}
        session.execute(
            dialect_insert(session)(CasePlan)
            .values(case_no=case.case_no, **values)
            .on_conflict_do_update(index_elements=["case_no"], set_=values)
        )

    def fill_open_deadlines(self, batch: int = 500) -> int:
        """Give the open cases decided while the calendar lacked a year they need (in December, every
        case: the next year's holidays are not yet in chinesecalendar) the deadlines this calendar
        now knows — the operator has added the year to calendar.yaml and restarted. Each case gets
        its deadlines, a public step and an audit entry, and its jobs planned, in one transaction;
        a case another runner has filled meanwhile is left as it is. Cases whose clock is stopped by
        a running special procedure keep no deadline. Returns how many were filled."""
        if self.calendar is None:
            return 0
        running = exists().where(
            SpecialProcedure.case_no == Application.case_no, SpecialProcedure.ended_at.is_(None)
        )
        query = (
            select(Application)
            .where(Application.status.in_(OPEN), Application.statutory_deadline.is_(None), ~running)
            .order_by(Application.case_no)
            .options(*LIGHT)
        )
        filled, after = 0, ""
        while True:
            with self.database.session() as session:
                cases = list(session.scalars(query.where(Application.case_no > after).limit(batch)))
                for case in cases:
                    deadlines = clock_deadlines(session, case, self.catalog, self.calendar)
                    if deadlines is None or (statutory := deadlines[0]) is None:
                        continue  # still a year the calendar lacks
                    promised = deadlines[1]
                    claimed = cast(
                        CursorResult[Any],
                        session.execute(
                            update(Application)
                            .where(
                                Application.case_no == case.case_no, Application.statutory_deadline.is_(None)
                            )
                            .values(statutory_deadline=statutory, promised_deadline=promised)
                            .execution_options(synchronize_session=False)
                        ),
                    )
                    if claimed.rowcount != 1:
                        continue  # another runner filled it
                    set_committed_value(case, "statutory_deadline", statutory)  # as stored: nothing to flush
                    set_committed_value(case, "promised_deadline", promised)
                    now = self.now()
                    label = f"节假日安排已更新，确定法定办结期限：{statutory:%Y年%m月%d日}"
                    record_step(
                        session,
                        self.alerts.audit,
                        SCHEDULER,
                        case.case_no,
                        "deadline_set",
                        label,
                        now,
                        "clock.deadline_set",
                        statutory.isoformat(),
                    )
                    self.plan(session, case)
                    filled += 1
            if len(cases) < batch:
                return filled
            after = cases[-1].case_no

    def reconcile(self, batch: int = 500) -> int:
        """Plan every case whose jobs were planned from another state (or never); returns how many.

        Two indexed queries, cheap enough for every round: open cases (by status) whose plan is
        missing or out of date, and planned cases (the plan table holds open cases only) that
        closed."""
        changed = (
            select(Application)
            .outerjoin(CasePlan, CasePlan.case_no == Application.case_no)
            .where(
                Application.status.in_(OPEN),
                or_(
                    CasePlan.case_no.is_(None),
                    CasePlan.status != Application.status,
                    CasePlan.statutory_deadline.is_distinct_from(Application.statutory_deadline),
                ),
            )
        )
        closed = (
            select(Application)
            .join(CasePlan, CasePlan.case_no == Application.case_no)
            .where(Application.status.not_in(OPEN))
        )
        planned = 0
        for query in (changed, closed):
            while True:
                with self.database.session() as session:
                    cases = list(
                        session.scalars(query.order_by(Application.case_no).limit(batch).options(*LIGHT))
                    )
                    for case in cases:
                        self.plan(session, case)
                planned += len(cases)
                if len(cases) < batch:
                    break
        return planned

    # ---- running ------------------------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> RoundReport:
        """One round: reconcile, then run due jobs until none is left (or ``limit`` were run). The
        first round first fills the deadlines left open for a year the calendar lacked."""
        if not self._deadlines_filled:
            self.fill_open_deadlines()
            self._deadlines_filled = True
        report = RoundReport(planned=self.reconcile())
        while limit is None or report.done + report.retried + report.failed < limit:
            try:
                job = self.store.claim(self.owner, self.now(), self.lease)
            except OperationalError as error:  # SQLite: another writer held the store too long
                log.warning("scheduler: claim postponed: %s", type(error).__name__)
                break
            if job is None:
                break
            self.execute(job, report)
        return report

    def execute(self, job: Claimed, report: RoundReport | None = None) -> None:
        report = report if report is not None else RoundReport()
        now = self.now()
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"没有处理“{job.kind}”任务的程序")
            with self.database.session() as session:
                self.store.hold(session, job, self.owner, now, self.lease)
                outcome = handler(session, job, now)
                self.store.done(session, job, outcome, now)
        except LeaseLost:
            log.warning(
                "scheduler: job %s (%s %s) taken over by another runner", job.id, job.kind, job.target
            )
            return
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            retry_at = None if job.attempts >= self.max_attempts else now + self._backoff(job.attempts)
            log.error(
                "scheduler: job %s (%s %s) attempt %s failed: %s",
                job.id,
                job.kind,
                job.target,
                job.attempts,
                message,
            )
            self.store.failed(job, self.owner, message, now, retry_at)
            if retry_at is None:
                report.failed += 1
            else:
                report.retried += 1
            return
        report.done += 1
        report.outcomes.append(outcome)
        log.info("scheduler: job %s (%s %s): %s", job.id, job.kind, job.target, outcome)

    def _backoff(self, attempts: int) -> dt.timedelta:
        return min(self.backoff * 2 ** (attempts - 1), dt.timedelta(hours=1))

    # ---- in the background --------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or self._stop
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the store is down, say: log it and try again next round
                log.exception("scheduler: round failed")
            stop.wait(self.interval)

    def start(self) -> threading.Thread:
        """Run rounds in a daemon thread of this process until ``stop``."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run_forever, name="miaopi-scheduler", daemon=True)
            self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _day(job: Claimed) -> dt.date:
    return dt.date.fromisoformat(job.due_key)
