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

from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application
from miaopi.auth import Principal
from miaopi.review.models import DeadlineAlert
from miaopi.review.queue import ReviewQueue, record_step

# The platform's own actor for what the clock does (audit: "system:scheduler").
SCHEDULER = Principal(account_id=0, kind="system", login="scheduler", role="system")
DEEMED_LEGAL_BASIS = "《中华人民共和国行政许可法》第五十条第二款"


class DeadlineAlerts:
    def __init__(self, queue: ReviewQueue) -> None:
        self.queue = queue
        self.database = queue.database
        self.audit = queue.audit

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
