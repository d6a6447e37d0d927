"""The review queue of a department."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.orm import Session

from miaopi.approval.models import Application, CaseEvidence, CaseStep
from miaopi.audit import AuditLog
from miaopi.auth import Principal
from miaopi.store import Database


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
    def __init__(self, database: Database, audit: AuditLog | None = None) -> None:
        self.database = database
        self.audit = audit or AuditLog()

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
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(Application)
                    .where(
                        Application.case_no == case_no,
                        Application.department == department,
                        Application.status == "review",
                        Application.claimed_by.is_(None),
                    )
                    .values(claimed_by=principal.actor, claimed_at=now)
                ),
            )
            if claimed.rowcount != 1:
                self._explain_refusal(session, case_no, department, principal)
            self._record(
                session, case_no, "claimed", "审核人员认领", principal, now, "review.claimed", "claimed"
            )
            case = session.get(Application, case_no)
            assert case is not None
            return case

    def decide(self, principal: Principal, case_no: str, decision: ReviewDecisionIn) -> Application:
        department = self._reviewer(principal)
        now = dt.datetime.now(dt.UTC)
        status = "approved" if decision.decision == "approve" else "rejected"
        with self.database.session() as session:
            done = cast(
                CursorResult[Any],
                session.execute(
                    update(Application)
                    .where(
                        Application.case_no == case_no,
                        Application.department == department,
                        Application.status == "review",
                        Application.claimed_by == principal.actor,
                    )
                    .values(
                        status=status,
                        decided_at=now,
                        reviewed_by=principal.actor,
                        review_comment=decision.comment,
                        review_legal_basis=decision.legal_basis,
                    )
                ),
            )
            if done.rowcount != 1:
                self._explain_refusal(session, case_no, department, principal, deciding=True)
            label = "作出决定（人工审核：准予）" if status == "approved" else "作出决定（人工审核：不予许可）"
            self._record(session, case_no, "decided", label, principal, now, "review.decided", status)
            case = session.get(Application, case_no)
            assert case is not None
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

    def _record(
        self,
        session: Session,
        case_no: str,
        step: str,
        label: str,
        principal: Principal,
        at: dt.datetime,
        action: str,
        outcome: str,
    ) -> None:
        session.execute(
            insert(CaseStep),
            [{"case_no": case_no, "step": step, "label": label, "at": at, "actor": principal.actor}],
        )
        self.audit.append(
            session, actor=principal.actor, action=action, target=case_no, outcome=outcome, at=at
        )
