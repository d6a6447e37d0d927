"""补正 (行政许可法 §32): the reviewer tells the applicant everything missing or wrong at once; the
applicant's corrected submission re-runs the automatic checks and returns to the same reviewer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval import ApplicationIn, ApprovalService
from miaopi.approval.intake import FormValue, MaterialIn
from miaopi.approval.models import Application
from miaopi.approval.pipeline import may_see
from miaopi.auth import Principal
from miaopi.clock import WorkingCalendar
from miaopi.review.deadlines import restart_clock
from miaopi.review.models import Correction
from miaopi.review.queue import ReviewConflict, record_step


class CorrectionItem(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="材料名称或表单字段")
    problem: str = Field(min_length=1, max_length=500, description="缺少或错误之处，以及如何补正")


class CorrectionRequestIn(BaseModel):
    items: list[CorrectionItem] = Field(min_length=1, max_length=50, description="一次性告知全部需补正的内容")


class CorrectionSubmissionIn(BaseModel):
    form: dict[str, FormValue] = Field(default_factory=dict, max_length=100)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)
    commitments: list[str] = Field(default_factory=list, max_length=50)


class Corrections:
    def __init__(self, approval: ApprovalService, calendar: WorkingCalendar | None = None) -> None:
        self.approval = approval
        self.calendar = calendar
        self.database = approval.database
        self.audit = approval.audit
        # Told, in the same transaction, when a case's clock stops or restarts (the scheduler).
        self.clock_listeners: list[Callable[[Session, Application], None]] = []

    def request(self, principal: Principal, case_no: str, body: CorrectionRequestIn) -> Correction:
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = session.scalars(
                select(Application).where(Application.case_no == case_no).with_for_update()
            ).first()
            if case is None or principal.kind != "officer" or case.department != principal.department:
                raise LookupError(f"本部门没有办件 {case_no}")
            if case.status != "review" or case.claimed_by != principal.actor:
                raise ReviewConflict(f"办件 {case_no} 须由认领的审核人员在审核中提出补正")
            correction = Correction(
                case_no=case_no,
                requested_by=principal.actor,
                requested_at=now,
                items=[i.model_dump() for i in body.items],
            )
            session.add(correction)
            case.status = "correction"
            session.flush()
            self._clock_changed(session, case)
            record_step(
                session,
                self.audit,
                principal,
                case_no,
                "correction_requested",
                "一次性告知补正内容",
                now,
                "review.correction_requested",
                "correction",
            )
            return correction

    def submit(self, principal: Principal, case_no: str, body: CorrectionSubmissionIn) -> Correction:
        """Re-run the automatic checks on the corrected application; the case returns to its reviewer."""
        with self.database.session() as session:
            case = session.get(Application, case_no)
            if case is None or principal.kind != "applicant" or not may_see(principal, case):
                raise LookupError(f"没有找到办件 {case_no}")
            if case.status != "correction":
                raise ReviewConflict(f"办件 {case_no} 没有待补正的内容")
            pending = session.scalars(
                select(Correction).where(Correction.case_no == case_no, Correction.submitted_at.is_(None))
            ).first()
            assert pending is not None
            form = {**case.form, **body.form}
            application = ApplicationIn(
                item_code=case.item_code,
                applicant={"id": case.applicant, "acting_person": case.acting_person},  # type: ignore[arg-type]
                form=form,
                materials=body.materials,
                commitments=body.commitments,
                idempotency_key=f"correction-{pending.id}",
            )
        recheck = self.approval.recheck(principal, application, case_no)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            stored = session.get(Correction, pending.id)
            case = session.get(Application, case_no)
            assert stored is not None and case is not None
            if case.status != "correction" or stored.submitted_at is not None:
                raise ReviewConflict(f"办件 {case_no} 的补正已提交")
            stored.submitted_at = now
            stored.submission = body.model_dump(
                mode="json", exclude={"materials": {"__all__": {"file": {"content_base64"}}}}
            )
            stored.recheck = recheck
            case.status = "review"  # back to the same reviewer: the claim is kept
            self.restart_clock(session, case)
            session.flush()
            record_step(
                session,
                self.audit,
                principal,
                case_no,
                "corrected",
                "提交补正材料，系统已重新核验",
                now,
                "application.corrected",
                str(recheck["status"]),
            )
            return stored

    def restart_clock(self, session: Session, case: Application) -> None:
        restart_clock(session, case, self.approval.catalog, self.calendar)
        self._clock_changed(session, case)

    def _clock_changed(self, session: Session, case: Application) -> None:
        for listener in self.clock_listeners:
            listener(session, case)

    def of_case(self, case_no: str) -> list[Correction]:
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(Correction).where(Correction.case_no == case_no).order_by(Correction.id)
                )
            )
