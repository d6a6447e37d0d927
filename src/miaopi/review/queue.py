"""The review queue of a department."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import ColumnElement, CursorResult, insert, select, update
from sqlalchemy.orm import Session

from miaopi.approval.models import Application, CaseEvidence, CaseStep
from miaopi.audit import AuditLog
from miaopi.auth import Principal
from miaopi.catalog import Catalog
from miaopi.clock import WorkingCalendar
from miaopi.review.deadlines import restart_clock
from miaopi.review.models import SpecialProcedure
from miaopi.store import Database

EXTENSION_DAYS = 10  # 行政许可法 §42


class ReviewConflict(ValueError):
    """The case is not in a state that allows the action (claimed by someone else, already closed …)."""


class ReviewDecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str = Field(min_length=1, max_length=2000, description="审核意见（告知申请人）")
    legal_basis: str | None = Field(
        default=None, max_length=500, description="不予许可须引用的规则或法律条款"
    )

    @model_validator(mode="after")
    def _refusal_cites_the_law(self) -> ReviewDecisionIn:
        if self.decision == "reject" and not (self.legal_basis or "").strip():
            raise ValueError("不予许可须写明所依据的规则或法律条款（legal_basis）")
        return self


class ReviewQueue:
    def __init__(
        self,
        database: Database,
        audit: AuditLog | None = None,
        catalog: Catalog | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.database = database
        self.audit = audit or AuditLog()
        self.catalog = catalog
        self.calendar = calendar
        self.clock_listeners: list[Callable[[Session, Application], None]] = []
        # Told of every closed case in the closing transaction (电子证照): issues on approval.
        self.licence_issuer: Callable[[Session, Application, str, dt.datetime], object] | None = None

    @staticmethod
    def _reviewer(principal: Principal) -> str:
        if principal.kind != "officer" or principal.department is None:
            raise PermissionError("只有部门审核人员可以处理人工审核")
        return principal.department

    def cases(
        self,
        principal: Principal,
        *,
        item_code: str | None = None,
        reason: str | None = None,
        claimed: Literal["any", "me", "none"] = "any",
        overdue_on: dt.date | None = None,
        limit: int = 100,
    ) -> list[Application]:
        department = self._reviewer(principal)
        query = (
            select(Application)
            .where(Application.department == department, Application.status == "review")
            .order_by(
                Application.statutory_deadline.is_(None),
                Application.statutory_deadline,
                Application.submitted_at,
            )
        )
        if item_code:
            query = query.where(Application.item_code == item_code)
        if claimed == "me":
            query = query.where(Application.claimed_by == principal.actor)
        elif claimed == "none":
            query = query.where(Application.claimed_by.is_(None))
        if overdue_on is not None:
            query = query.where(Application.statutory_deadline < overdue_on)
        with self.database.session() as session:
            found = list(session.scalars(query.limit(limit if reason is None else 10_000)))
        if reason is not None:
            found = [case for case in found if any(item.get("code") == reason for item in case.reasons)][
                :limit
            ]
        return found

    def case(self, principal: Principal, case_no: str) -> tuple[Application, list[CaseEvidence]]:
        department = self._reviewer(principal)
        with self.database.session() as session:
            case = session.get(Application, case_no)
            if case is None or case.department != department:
                raise LookupError(f"本部门没有办件 {case_no}")
            evidence = list(session.scalars(select(CaseEvidence).where(CaseEvidence.case_no == case_no)))
            return case, evidence

    def claim(self, principal: Principal, case_no: str) -> Application:
        department = self._reviewer(principal)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            claimed = _update_case(
                session,
                case_no,
                department,
                Application.claimed_by.is_(None),
                claimed_by=principal.actor,
                claimed_at=now,
            )
            if not claimed:
                self._explain_refusal(session, case_no, department, principal)
            record_step(
                session,
                self.audit,
                principal,
                case_no,
                "claimed",
                "审核人员认领",
                now,
                "review.claimed",
                "claimed",
            )
            case = session.get(Application, case_no)
            assert case is not None
            return case

    def release(self, principal: Principal, case_no: str) -> Application:
        """The claimant gives the case back to the queue."""
        department = self._reviewer(principal)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            released = _update_case(
                session,
                case_no,
                department,
                Application.claimed_by == principal.actor,
                claimed_by=None,
                claimed_at=None,
            )
            if not released:
                self._explain_refusal(session, case_no, department, principal, deciding=True)
            record_step(
                session,
                self.audit,
                principal,
                case_no,
                "released",
                "审核人员退回待认领",
                now,
                "review.released",
                "review",
            )
            case = session.get(Application, case_no)
            assert case is not None
            return case

    def decide(self, principal: Principal, case_no: str, decision: ReviewDecisionIn) -> Application:
        """The claimant decides. On a four-eyes item the first decision waits for a second reviewer:
        the same decision from another reviewer makes it final; a different one returns the case to
        the queue for a fresh review."""
        department = self._reviewer(principal)
        now = dt.datetime.now(dt.UTC)
        status = "approved" if decision.decision == "approve" else "rejected"
        verdict = "准予" if status == "approved" else "不予许可"
        with self.database.session() as session:
            case = session.scalars(
                select(Application).where(Application.case_no == case_no).with_for_update()
            ).first()
            if (
                case is None
                or case.department != department
                or case.status != "review"
                or case.claimed_by != principal.actor
            ):
                self._explain_refusal(session, case_no, department, principal, deciding=True)
            assert case is not None
            running = session.scalars(
                select(SpecialProcedure.kind).where(
                    SpecialProcedure.case_no == case_no, SpecialProcedure.ended_at.is_(None)
                )
            ).first()
            if running is not None:
                raise ReviewConflict(f"办件 {case_no} 的{running}程序尚未结束，结束后才能作出决定")
            item = self.catalog.items.get(case.item_code) if self.catalog else None
            if item is not None and item.four_eyes:
                if case.first_decision is None:
                    case.first_reviewer = principal.actor
                    case.first_decision = status
                    case.review_comment = decision.comment
                    case.review_legal_basis = decision.legal_basis
                    case.claimed_by = None  # free for the second reviewer
                    label = f"初审意见：{verdict}，待另一名审核人员复核"
                    record_step(
                        session,
                        self.audit,
                        principal,
                        case_no,
                        "first_decision",
                        label,
                        now,
                        "review.first_decision",
                        status,
                    )
                    return case
                if case.first_reviewer == principal.actor:
                    raise ReviewConflict(f"办件 {case_no} 须由另一名审核人员复核（双人复核）")
                if case.first_decision != status:
                    case.first_reviewer = None
                    case.first_decision = None
                    case.claimed_by = None
                    label = "复核意见与初审不一致，退回重新审核"
                    record_step(
                        session,
                        self.audit,
                        principal,
                        case_no,
                        "returned",
                        label,
                        now,
                        "review.returned",
                        "review",
                    )
                    return case
                verdict = f"双人复核：{verdict}"
            self._close(
                session,
                case,
                status,
                principal,
                f"作出决定（人工审核：{verdict}）",
                "review.decided",
                comment=decision.comment,
                legal_basis=decision.legal_basis,
                at=now,
            )
            return case

    def _close(
        self,
        session: Session,
        case: Application,
        status: str,
        actor: Principal,
        label: str,
        action: str,
        *,
        comment: str | None,
        legal_basis: str | None,
        at: dt.datetime,
    ) -> None:
        """Close a case with a final decision — the one path every approval and refusal takes (a
        reviewer's decision, a deemed approval under §50), in the caller's transaction: the case, its
        public step and audit entry, and whatever listens for closed cases (the scheduler cancels
        the case's pending jobs)."""
        case.status = status
        case.decided_at = at
        case.reviewed_by = actor.actor
        case.review_comment = comment
        case.review_legal_basis = legal_basis
        record_step(session, self.audit, actor, case.case_no, "decided", label, at, action, status)
        if self.licence_issuer is not None:  # issues on approval; settles a reopened case's licence
            self.licence_issuer(session, case, actor.actor, at)
        self.clock_changed(session, case)

    def clock_changed(self, session: Session, case: Application) -> None:
        """Tell the listeners (the scheduler) that the case's clock or state changed, in the same
        transaction, so its jobs are recomputed with the change or not at all."""
        for listener in self.clock_listeners:
            listener(session, case)

    def request_extension(self, principal: Principal, case_no: str, reason: str) -> Application:
        """The claimant asks to extend the statutory limit by 10 working days (§42)."""
        department = self._reviewer(principal)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = session.scalars(
                select(Application).where(Application.case_no == case_no).with_for_update()
            ).first()
            if case is None or case.department != department:
                raise LookupError(f"本部门没有办件 {case_no}")
            if case.status != "review" or case.claimed_by != principal.actor:
                raise ReviewConflict(f"办件 {case_no} 须由认领的审核人员在审核中申请延期")
            if case.extension_requested_by is not None:
                raise ReviewConflict(f"办件 {case_no} 已申请过延期（法定只能延长一次）")
            case.extension_requested_by = principal.actor
            case.extension_reason = reason
            record_step(
                session,
                self.audit,
                principal,
                case_no,
                "extension_requested",
                "申请延长审查期限",
                now,
                "review.extension_requested",
                "requested",
            )
            return case

    def approve_extension(self, principal: Principal, case_no: str) -> Application:
        """The department's head (supervisor) approves: +10 working days on the statutory limit."""
        department = self._reviewer(principal)
        if principal.role != "supervisor":
            raise PermissionError("延长审查期限须经科室负责人（supervisor）批准")
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = session.scalars(
                select(Application).where(Application.case_no == case_no).with_for_update()
            ).first()
            if case is None or case.department != department:
                raise LookupError(f"本部门没有办件 {case_no}")
            if case.extension_requested_by is None or case.extension_approved_by is not None:
                raise ReviewConflict(f"办件 {case_no} 没有待批准的延期申请")
            if case.status not in ("review", "correction"):
                raise ReviewConflict(f"办件 {case_no} 已办结")
            case.extension_approved_by = principal.actor
            case.extension_days = EXTENSION_DAYS
            if self.catalog is not None:
                restart_clock(session, case, self.catalog, self.calendar)
            self.clock_changed(session, case)
            label = f"经负责人批准，延长审查期限{EXTENSION_DAYS}个工作日"
            record_step(
                session,
                self.audit,
                principal,
                case_no,
                "extended",
                label,
                now,
                "review.extension_approved",
                "approved",
            )
            return case

    def _explain_refusal(
        self, session: Session, case_no: str, department: str, principal: Principal, *, deciding: bool = False
    ) -> None:
        case = session.get(Application, case_no)
        if case is None or case.department != department:
            raise LookupError(f"本部门没有办件 {case_no}")
        if case.status != "review":
            raise ReviewConflict(f"办件 {case_no} 已办结（{case.status}），不在人工审核中")
        if deciding and case.claimed_by is None:
            raise ReviewConflict(f"办件 {case_no} 尚未认领：请先认领再作出决定")
        if case.claimed_by != principal.actor:
            raise ReviewConflict(f"办件 {case_no} 已由 {case.claimed_by} 认领")
        raise ReviewConflict(f"办件 {case_no} 已由您认领")


def record_step(
    session: Session,
    audit: AuditLog,
    principal: Principal,
    case_no: str,
    step: str,
    label: str,
    at: dt.datetime,
    action: str,
    outcome: str,
) -> None:
    """A state change of a case: a public progress step and its audit entry, in the same transaction."""
    session.execute(
        insert(CaseStep),
        [{"case_no": case_no, "step": step, "label": label, "at": at, "actor": principal.actor}],
    )
    audit.append(session, actor=principal.actor, action=action, target=case_no, outcome=outcome, at=at)


def _update_case(
    session: Session, case_no: str, department: str, condition: ColumnElement[bool], **values: Any
) -> bool:
    """Change a case under review of this department only if ``condition`` holds — atomically, so
    of two concurrent reviewers exactly one succeeds."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Application)
            .where(
                Application.case_no == case_no,
                Application.department == department,
                Application.status == "review",
                condition,
            )
            .values(**values)
        ),
    )
    return result.rowcount == 1
