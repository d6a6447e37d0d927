"""What the clock does on its own (run by the scheduler, in the scheduler's transaction):

- a **reminder** N working days before the statutory deadline, to the claimant (or the department's
  queue when nobody holds the case);
- an **escalation** (督办) of a case still undecided after its statutory deadline, to the
  department's head: a public step, an audit entry and an alert listed for the department's
  supervisors;
- a **deemed approval** (行政许可法 §50): a renewal still undecided by the agency when the old licence
  expires is approved, through the same closing path as a reviewer's decision.

Each effect first re-reads the case under a row lock and does nothing (saying why) when the case has
moved on — decided, waiting for the applicant's correction, or given a new deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application
from miaopi.approval.pipeline import CHINA
from miaopi.auth import Principal
from miaopi.auth.models import Account
from miaopi.clock import CalendarUnknownYear
from miaopi.review.models import DeadlineAlert
from miaopi.review.queue import ReviewQueue, record_step

# The platform's own actor for what the clock does (audit: "system:scheduler").
SCHEDULER = Principal(account_id=0, kind="system", login="scheduler", role="system")
log = logging.getLogger("miaopi.review")
DEEMED_LEGAL_BASIS = "《中华人民共和国行政许可法》第五十条第二款"


class DeadlineAlerts:
    def __init__(self, queue: ReviewQueue, notify: Callable[..., object] | None = None) -> None:
        """``notify``: ``Notifications.enqueue`` — reminders go to the claimant's inbox and escalations
        to the department heads', in the same transaction as the alert."""
        self.queue = queue
        self.database = queue.database
        self.audit = queue.audit
        self.notify = notify

    # ---- effects, in the caller's transaction ---------------------------------------------------

    def remind(self, session: Session, case_no: str, deadline: dt.date, at: dt.datetime) -> str:
        case = _locked(session, case_no)
        skipped = _moved_on(case, deadline)
        if skipped:
            return skipped
        assert case is not None
        addressed_to = case.claimed_by or "department"
        session.add(
            DeadlineAlert(
                case_no=case_no,
                department=case.department,
                kind="reminder",
                deadline=deadline,
                addressed_to=addressed_to,
                created_at=at,
            )
        )
        self.audit.append(
            session,
            actor=SCHEDULER.actor,
            action="review.reminded",
            target=case_no,
            outcome="reminded",
            details={"deadline": deadline.isoformat(), "to": addressed_to},
            at=at,
        )
        if case.claimed_by is not None:
            self._notify(
                session,
                [case.claimed_by],
                "review.reminder",
                {"case_no": case_no, "item": case.item_name, "deadline": deadline.isoformat()},
            )
        return f"已提醒{'认领人' if case.claimed_by else '本部门'}：法定期限 {deadline} 将到"

    def escalate(self, session: Session, case_no: str, deadline: dt.date, at: dt.datetime) -> str:
        case = _locked(session, case_no)
        skipped = _moved_on(case, deadline)
        if skipped:
            return skipped
        assert case is not None
        session.add(
            DeadlineAlert(
                case_no=case_no,
                department=case.department,
                kind="escalation",
                deadline=deadline,
                addressed_to="supervisor",
                created_at=at,
            )
        )
        record_step(
            session,
            self.audit,
            SCHEDULER,
            case_no,
            "escalated",
            "超过法定办理期限未作决定，已提请部门负责人督办",
            at,
            "review.escalated",
            "escalated",
        )
        heads = session.scalars(
            select(Account.login).where(
                Account.kind == "officer", Account.department == case.department, Account.role == "supervisor"
            )
        ).all()
        self._notify(
            session,
            [f"officer:{login}" for login in heads],
            "review.escalation",
            {
                "case_no": case_no,
                "item": case.item_name,
                "deadline": deadline.isoformat(),
                "overdue_days": str(self._overdue_days(deadline, at)),
            },
        )
        return f"已超过法定期限 {deadline}，已提请部门负责人督办"

    def deem_approved(self, session: Session, case_no: str, expiry: dt.date, at: dt.datetime) -> str:
        case = _locked(session, case_no)
        if case is None:
            return f"办件 {case_no} 不存在"
        if case.status != "review":
            # Decided already, or waiting for the applicant's correction: an incomplete application
            # the applicant has not completed is not one the agency failed to decide.
            return f"未视为准予延续：办件状态为 {case.status}"
        self.queue._close(
            session,
            case,
            "approved",
            SCHEDULER,
            "视为准予延续（原许可有效期届满前未作决定，行政许可法第五十条）",
            "review.deemed_approved",
            comment=f"原许可有效期于 {expiry} 届满，行政机关届满前未作出是否准予延续的决定，依法视为准予延续",
            legal_basis=DEEMED_LEGAL_BASIS,
            at=at,
        )
        return f"原许可有效期 {expiry} 届满，视为准予延续"

    def _overdue_days(self, deadline: dt.date, at: dt.datetime) -> int:
        """Working days past the deadline (at least 1: the deadline has passed)."""
        today = at.astimezone(CHINA).date()
        if self.queue.calendar is None:
            return max(1, (today - deadline).days)
        try:
            return max(1, self.queue.calendar.working_days_between(deadline, today))
        except CalendarUnknownYear:
            return max(1, (today - deadline).days)

    def _notify(
        self, session: Session, recipients: list[str], template: str, variables: dict[str, str]
    ) -> None:
        if self.notify is None:
            return
        for recipient in recipients:
            try:
                self.notify(
                    session,
                    recipient=recipient,
                    template=template,
                    variables=variables,
                    channels=("inbox",),
                    reference=variables["case_no"],
                    actor=SCHEDULER.actor,
                )
            except ValueError as error:  # a recipient the outbox refuses: the alert stands regardless
                log.error("deadline alert %s for %s not queued: %s", template, variables["case_no"], error)

    # ---- listings ---------------------------------------------------------------------------------

    def escalations(self, principal: Principal, *, open_only: bool = True) -> list[tuple[DeadlineAlert, str]]:
        """The department's escalations (supervisors only), with each case's current status."""
        department = self.queue._reviewer(principal)
        if principal.role != "supervisor":
            raise PermissionError("超期督办只向部门负责人（supervisor）列出")
        return self._listed(department, "escalation", open_only=open_only)

    def reminders(self, principal: Principal, *, open_only: bool = True) -> list[tuple[DeadlineAlert, str]]:
        """Reminders addressed to this reviewer, or to the department's queue."""
        department = self.queue._reviewer(principal)
        listed = self._listed(department, "reminder", open_only=open_only)
        return [
            (alert, status)
            for alert, status in listed
            if alert.addressed_to in (principal.actor, "department")
        ]

    def _listed(self, department: str, kind: str, *, open_only: bool) -> list[tuple[DeadlineAlert, str]]:
        query = (
            select(DeadlineAlert, Application.status)
            .join(Application, Application.case_no == DeadlineAlert.case_no)
            .where(DeadlineAlert.department == department, DeadlineAlert.kind == kind)
            .order_by(DeadlineAlert.created_at.desc(), DeadlineAlert.id.desc())
        )
        if open_only:
            query = query.where(Application.status.in_(("review", "correction")))
        with self.database.session() as session:
            return [(alert, status) for alert, status in session.execute(query)]


def _locked(session: Session, case_no: str) -> Application | None:
    return session.scalars(
        select(Application).where(Application.case_no == case_no).with_for_update()
    ).first()


def _moved_on(case: Application | None, deadline: dt.date) -> str | None:
    """Why a reminder or escalation for ``deadline`` no longer applies, or None when it does."""
    if case is None:
        return "办件不存在"
    if case.status != "review":
        return f"无需处理：办件状态为 {case.status}"
    if case.statutory_deadline != deadline:
        return f"无需处理：法定期限已变为 {case.statutory_deadline or '暂停计算'}"
    return None
