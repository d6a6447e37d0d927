"""特殊程序 (行政许可法 §45): hearings, tenders, auctions, inspection, testing, quarantine, appraisal
and expert review. The time they take does not count towards the statutory limit: the case's clock
stops from the day one starts and restarts on the day after it ends (while one runs, the case has
no deadline). The claimant starts and ends them; a decision waits until the running one has ended.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application
from miaopi.auth import Principal
from miaopi.review.deadlines import restart_clock
from miaopi.review.models import SpecialProcedure
from miaopi.review.queue import ReviewConflict, ReviewQueue, record_step

ProcedureKind = Literal["听证", "招标", "拍卖", "检验", "检测", "检疫", "鉴定", "专家评审"]
PROCEDURE_KINDS: tuple[str, ...] = get_args(ProcedureKind)


class SpecialProcedureIn(BaseModel):
    kind: ProcedureKind = Field(description="听证、招标、拍卖、检验、检测、检疫、鉴定或专家评审")
    reason: str = Field(min_length=1, max_length=1000, description="启动特殊程序的理由（告知申请人）")


class SpecialProcedureEndIn(BaseModel):
    result: str = Field(min_length=1, max_length=2000, description="特殊程序的结果")


def running_procedure(session: Session, case_no: str) -> SpecialProcedure | None:
    return session.scalars(
        select(SpecialProcedure).where(
            SpecialProcedure.case_no == case_no, SpecialProcedure.ended_at.is_(None)
        )
    ).first()


class SpecialProcedures:
    def __init__(self, queue: ReviewQueue) -> None:
        self.queue = queue
        self.database = queue.database

    def _claimed_case(self, session: Session, principal: Principal, case_no: str, action: str) -> Application:
        department = self.queue._reviewer(principal)
        case = session.scalars(
            select(Application).where(Application.case_no == case_no).with_for_update()
        ).first()
        if case is None or case.department != department:
            raise LookupError(f"本部门没有办件 {case_no}")
        if case.status != "review":
            raise ReviewConflict(f"办件 {case_no} 不在人工审核中（{case.status}），不能{action}")
        if case.claimed_by != principal.actor:
            raise ReviewConflict(f"办件 {case_no} 须由认领的审核人员{action}（请先认领）")
        return case

    def start(self, principal: Principal, case_no: str, body: SpecialProcedureIn) -> SpecialProcedure:
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = self._claimed_case(session, principal, case_no, "启动特殊程序")
            running = running_procedure(session, case_no)
            if running is not None:
                raise ReviewConflict(
                    f"办件 {case_no} 的{running.kind}程序尚未结束，结束后才能启动新的特殊程序"
                )
            procedure = SpecialProcedure(
                case_no=case_no,
                kind=body.kind,
                reason=body.reason,
                started_by=principal.actor,
                started_at=now,
            )
            session.add(procedure)
            session.flush()
            self._restart(session, case)
            record_step(
                session,
                self.queue.audit,
                principal,
                case_no,
                "special_procedure",
                f"{body.kind}程序开始，所需时间不计入审查期限（行政许可法第四十五条）",
                now,
                "review.special_procedure_started",
                body.kind,
            )
            return procedure

    def end(
        self, principal: Principal, case_no: str, procedure_id: int, body: SpecialProcedureEndIn
    ) -> SpecialProcedure:
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = self._claimed_case(session, principal, case_no, "结束特殊程序")
            procedure = session.get(SpecialProcedure, procedure_id)
            if procedure is None or procedure.case_no != case_no:
                raise LookupError(f"办件 {case_no} 没有编号为 {procedure_id} 的特殊程序")
            if procedure.ended_at is not None:
                raise ReviewConflict(
                    f"办件 {case_no} 的{procedure.kind}程序（编号 {procedure_id}）已经结束，不在进行中"
                )
            procedure.ended_at = now
            procedure.ended_by = principal.actor
            procedure.result = body.result
            session.flush()
            self._restart(session, case)
            record_step(
                session,
                self.queue.audit,
                principal,
                case_no,
                "special_procedure_ended",
                f"{procedure.kind}程序结束，恢复计算审查期限",
                now,
                "review.special_procedure_ended",
                procedure.kind,
            )
            return procedure

    def of_case(self, principal: Principal, case_no: str) -> list[SpecialProcedure]:
        self.queue.case(principal, case_no)  # department-scoped: the same refusal as the case itself
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(SpecialProcedure)
                    .where(SpecialProcedure.case_no == case_no)
                    .order_by(SpecialProcedure.id)
                )
            )

    def _restart(self, session: Session, case: Application) -> None:
        if self.queue.catalog is not None:
            restart_clock(session, case, self.queue.catalog, self.queue.calendar)
        self.queue.clock_changed(session, case)
