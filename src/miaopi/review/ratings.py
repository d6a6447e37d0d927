"""好差评: the applicant rates a closed case in five grades; 不满意 or 非常不满意 opens a follow-up
that the department must close within 15 working days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from miaopi.approval.models import Application
from miaopi.approval.pipeline import may_see
from miaopi.audit import AuditLog
from miaopi.auth import Principal
from miaopi.catalog import TimeLimit
from miaopi.review.models import Rating
from miaopi.review.queue import ReviewConflict
from miaopi.store import Database

GRADES = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}
GRADE_NAMES = {value: name for name, value in GRADES.items()}
FOLLOW_UP = TimeLimit(15, "工作日")
Grade = Literal["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


class RatingIn(BaseModel):
    grade: Grade
    comment: str | None = Field(default=None, max_length=1000)


class FollowUpCloseIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="回访处理情况")


class Ratings:
    def __init__(
        self,
        database: Database,
        deadline: Callable[[dt.date, TimeLimit], dt.date | None],
        today: Callable[[], dt.date],
        audit: AuditLog | None = None,
    ) -> None:
        self.database = database
        self.deadline = deadline
        self.today = today
        self.audit = audit or AuditLog()

    def rate(self, principal: Principal, case_no: str, rating: RatingIn) -> Rating:
        now = dt.datetime.now(dt.UTC)
        grade = GRADES[rating.grade]
        try:
            with self.database.session() as session:
                case = session.get(Application, case_no)
                if case is None or principal.kind != "applicant" or not may_see(principal, case):
                    raise LookupError(f"没有找到办件 {case_no}")
                if case.status not in ("approved", "rejected"):
                    raise ReviewConflict(f"办件 {case_no} 尚未办结，办结后才能评价")
                due = self.deadline(self.today(), FOLLOW_UP) if grade <= 2 else None
                stored = Rating(
                    case_no=case_no,
                    department=case.department,
                    grade=grade,
                    comment=rating.comment,
                    rated_at=now,
                    follow_up_due=due,
                )
                session.add(stored)
                session.flush()
                self.audit.append(
                    session,
                    actor=principal.actor,
                    action="case.rated",
                    target=case_no,
                    outcome=rating.grade,
                    details={"follow_up_due": due.isoformat() if due else None},
                    at=now,
                )
                return stored
        except IntegrityError:
            raise ReviewConflict(f"办件 {case_no} 已经评价过") from None

    def follow_ups(self, principal: Principal, *, open_only: bool = True) -> list[Rating]:
        department = _department(principal)
        query = select(Rating).where(Rating.department == department, Rating.follow_up_due.is_not(None))
        if open_only:
            query = query.where(Rating.follow_up_closed_at.is_(None))
        with self.database.session() as session:
            return list(session.scalars(query.order_by(Rating.follow_up_due)))

    def close(self, principal: Principal, case_no: str, body: FollowUpCloseIn) -> Rating:
        department = _department(principal)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            rating = session.get(Rating, case_no)
            if rating is None or rating.department != department or rating.follow_up_due is None:
                raise LookupError(f"本部门没有办件 {case_no} 的差评回访")
            if rating.follow_up_closed_at is not None:
                raise ReviewConflict(f"办件 {case_no} 的差评回访已办结")
            rating.follow_up_closed_at = now
            rating.follow_up_by = principal.actor
            rating.follow_up_note = body.note
            self.audit.append(
                session,
                actor=principal.actor,
                action="rating.follow_up_closed",
                target=case_no,
                outcome="closed",
                at=now,
            )
            session.flush()
            return rating


def _department(principal: Principal) -> str:
    if principal.kind != "officer" or principal.department is None:
        raise PermissionError("只有部门工作人员可以处理差评回访")
    return principal.department
