"""Reviewers' API: the department's queue, claiming, deciding (人工审核)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from miaopi.api.dependencies import deployment
from miaopi.api.security import CurrentPrincipal
from miaopi.approval.models import Application
from miaopi.approval.pipeline import STATUS_LABELS
from miaopi.deployment import Deployment
from miaopi.review import GRADE_NAMES, FollowUpCloseIn, ReviewConflict, ReviewDecisionIn
from miaopi.review.corrections import CorrectionRequestIn
from miaopi.review.procedures import SpecialProcedureEndIn, SpecialProcedureIn

router = APIRouter(prefix="/review", tags=["人工审核"])
CurrentDeployment = Annotated[Deployment, Depends(deployment)]


class ReviewCaseOut(BaseModel):
    case_no: str
    item_code: str
    item_name: str
    applicant: str
    status: str
    status_label: str
    reasons: list[dict[str, Any]]
    submitted_at: dt.datetime
    statutory_deadline: dt.date | None
    promised_deadline: dt.date | None
    claimed_by: str | None
    reviewed_by: str | None
    review_comment: str | None
    review_legal_basis: str | None

    @classmethod
    def of(cls, case: Application) -> ReviewCaseOut:
        return cls(
            case_no=case.case_no,
            item_code=case.item_code,
            item_name=case.item_name,
            applicant=case.applicant,
            status=case.status,
            status_label=STATUS_LABELS.get(case.status, "人工审核办结"),
            reasons=list(case.reasons),
            submitted_at=case.submitted_at,
            statutory_deadline=case.statutory_deadline,
            promised_deadline=case.promised_deadline,
            claimed_by=case.claimed_by,
            reviewed_by=case.reviewed_by,
            review_comment=case.review_comment,
            review_legal_basis=case.review_legal_basis,
        )


class EvidenceOut(BaseModel):
    resource: str
    provider: str
    source: str
    read_at: dt.datetime
    content_hash: str
    records: list[dict[str, Any]]


class ReviewDetailOut(ReviewCaseOut):
    explanation: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    form: dict[str, Any]
    evidence: list[EvidenceOut]


def _call(action: Any) -> Any:
    try:
        return action()
    except PermissionError as error:
        raise HTTPException(403, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except ReviewConflict as error:
        raise HTTPException(409, str(error)) from None


@router.get("/cases", response_model=list[ReviewCaseOut], summary="本部门待人工审核的办件")
def queue(
    who: CurrentPrincipal,
    current: CurrentDeployment,
    item: Annotated[str | None, Query(max_length=64, description="事项编码")] = None,
    reason: Annotated[str | None, Query(max_length=40, description="转人工原因代码，如 unknown_fact")] = None,
    claimed: Annotated[
        Literal["any", "me", "none"], Query(description="any 全部 / me 我认领的 / none 未认领")
    ] = "any",
    overdue_on: Annotated[dt.date | None, Query(description="只看该日已超过法定期限的")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewCaseOut]:
    cases = _call(
        lambda: current.review.cases(
            who, item_code=item, reason=reason, claimed=claimed, overdue_on=overdue_on, limit=limit
        )
    )
    return [ReviewCaseOut.of(case) for case in cases]


@router.get(
    "/cases/{case_no}", response_model=ReviewDetailOut, summary="办件详情：机器说明、证据及来源、转人工原因"
)
def detail(case_no: str, who: CurrentPrincipal, current: CurrentDeployment) -> ReviewDetailOut:
    case, evidence = _call(lambda: current.review.case(who, case_no))
    return ReviewDetailOut(
        **ReviewCaseOut.of(case).model_dump(),
        explanation=list(case.explanation),
        materials=list(case.materials),
        form=dict(case.form),
        evidence=[
            EvidenceOut(
                resource=row.resource,
                provider=row.provider,
                source=row.source,
                read_at=row.read_at,
                content_hash=row.content_hash,
                records=list(row.records),
            )
            for row in evidence
        ],
    )


@router.post(
    "/cases/{case_no}/claim", response_model=ReviewCaseOut, summary="认领办件（同一时间只能一人认领）"
)
def claim(case_no: str, who: CurrentPrincipal, current: CurrentDeployment) -> ReviewCaseOut:
    return ReviewCaseOut.of(_call(lambda: current.review.claim(who, case_no)))


@router.post(
    "/cases/{case_no}/decision",
    response_model=ReviewCaseOut,
    summary="作出决定：准予或不予许可（须引用依据）",
)
def decide(
    case_no: str, body: ReviewDecisionIn, who: CurrentPrincipal, current: CurrentDeployment
) -> ReviewCaseOut:
    return ReviewCaseOut.of(_call(lambda: current.review.decide(who, case_no, body)))


class FollowUpOut(BaseModel):
    case_no: str
    grade: str
    comment: str | None
    rated_at: dt.datetime
    follow_up_due: dt.date | None
    follow_up_closed_at: dt.datetime | None
    follow_up_by: str | None
    follow_up_note: str | None

    @classmethod
    def of(cls, rating: Any) -> FollowUpOut:
        return cls(
            case_no=rating.case_no,
            grade=GRADE_NAMES[rating.grade],
            comment=rating.comment,
            rated_at=rating.rated_at,
            follow_up_due=rating.follow_up_due,
            follow_up_closed_at=rating.follow_up_closed_at,
            follow_up_by=rating.follow_up_by,
            follow_up_note=rating.follow_up_note,
        )


@router.get("/follow-ups", response_model=list[FollowUpOut], summary="差评回访（本部门）")
def follow_ups(
    who: CurrentPrincipal, current: CurrentDeployment, open_only: Annotated[bool, Query(alias="open")] = True
) -> list[FollowUpOut]:
    return [
        FollowUpOut.of(rating)
        for rating in _call(lambda: current.ratings.follow_ups(who, open_only=open_only))
    ]


@router.post("/follow-ups/{case_no}/close", response_model=FollowUpOut, summary="办结差评回访")
def close_follow_up(
    case_no: str, body: FollowUpCloseIn, who: CurrentPrincipal, current: CurrentDeployment
) -> FollowUpOut:
    return FollowUpOut.of(_call(lambda: current.ratings.close(who, case_no, body)))


@router.post("/cases/{case_no}/release", response_model=ReviewCaseOut, summary="退回待认领")
def release(case_no: str, who: CurrentPrincipal, current: CurrentDeployment) -> ReviewCaseOut:
    return ReviewCaseOut.of(_call(lambda: current.review.release(who, case_no)))


class CorrectionOut(BaseModel):
    id: int
    case_no: str
    requested_by: str
    requested_at: dt.datetime
    items: list[dict[str, str]]
    submitted_at: dt.datetime | None
    recheck: dict[str, Any] | None


@router.post(
    "/cases/{case_no}/correction",
    response_model=CorrectionOut,
    status_code=201,
    summary="要求补正：一次性告知全部内容",
)
def request_correction(
    case_no: str, body: CorrectionRequestIn, who: CurrentPrincipal, current: CurrentDeployment
) -> CorrectionOut:
    correction = _call(lambda: current.corrections.request(who, case_no, body))
    return CorrectionOut.model_validate(correction, from_attributes=True)


@router.get("/cases/{case_no}/corrections", response_model=list[CorrectionOut], summary="办件的补正记录")
def corrections(case_no: str, who: CurrentPrincipal, current: CurrentDeployment) -> list[CorrectionOut]:
    _call(lambda: current.review.case(who, case_no))
    return [
        CorrectionOut.model_validate(item, from_attributes=True)
        for item in current.corrections.of_case(case_no)
    ]


class ExtensionIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="延期理由")


@router.post(
    "/cases/{case_no}/extension", response_model=ReviewCaseOut, summary="申请延长审查期限（10个工作日）"
)
def request_extension(
    case_no: str, body: ExtensionIn, who: CurrentPrincipal, current: CurrentDeployment
) -> ReviewCaseOut:
    return ReviewCaseOut.of(_call(lambda: current.review.request_extension(who, case_no, body.reason)))


@router.post("/cases/{case_no}/extension/approve", response_model=ReviewCaseOut, summary="负责人批准延期")
def approve_extension(case_no: str, who: CurrentPrincipal, current: CurrentDeployment) -> ReviewCaseOut:
    return ReviewCaseOut.of(_call(lambda: current.review.approve_extension(who, case_no)))


class SpecialProcedureOut(BaseModel):
    id: int
    case_no: str
    kind: str
    reason: str
    started_by: str
    started_at: dt.datetime
    ended_by: str | None
    ended_at: dt.datetime | None
    result: str | None


@router.post(
    "/cases/{case_no}/special-procedures",
    response_model=SpecialProcedureOut,
    status_code=201,
    summary="启动特殊程序（听证、检验检测、专家评审等；期间不计入审查期限）",
)
def start_special_procedure(
    case_no: str, body: SpecialProcedureIn, who: CurrentPrincipal, current: CurrentDeployment
) -> SpecialProcedureOut:
    procedure = _call(lambda: current.procedures.start(who, case_no, body))
    return SpecialProcedureOut.model_validate(procedure, from_attributes=True)


@router.post(
    "/cases/{case_no}/special-procedures/{procedure_id}/end",
    response_model=SpecialProcedureOut,
    summary="结束特殊程序，恢复计算审查期限",
)
def end_special_procedure(
    case_no: str,
    procedure_id: int,
    body: SpecialProcedureEndIn,
    who: CurrentPrincipal,
    current: CurrentDeployment,
) -> SpecialProcedureOut:
    procedure = _call(lambda: current.procedures.end(who, case_no, procedure_id, body))
    return SpecialProcedureOut.model_validate(procedure, from_attributes=True)


@router.get(
    "/cases/{case_no}/special-procedures",
    response_model=list[SpecialProcedureOut],
    summary="办件的特殊程序记录",
)
def special_procedures(
    case_no: str, who: CurrentPrincipal, current: CurrentDeployment
) -> list[SpecialProcedureOut]:
    return [
        SpecialProcedureOut.model_validate(procedure, from_attributes=True)
        for procedure in _call(lambda: current.procedures.of_case(who, case_no))
    ]


class DeadlineAlertOut(BaseModel):
    case_no: str
    kind: str
    deadline: dt.date
    addressed_to: str
    created_at: dt.datetime
    case_status: str


def _alerts(listed: list[tuple[Any, str]]) -> list[DeadlineAlertOut]:
    return [
        DeadlineAlertOut(
            case_no=alert.case_no,
            kind=alert.kind,
            deadline=alert.deadline,
            addressed_to=alert.addressed_to,
            created_at=alert.created_at,
            case_status=status,
        )
        for alert, status in listed
    ]


@router.get(
    "/escalations",
    response_model=list[DeadlineAlertOut],
    summary="超期督办：本部门超过法定期限未办结的办件（部门负责人）",
)
def escalations(
    who: CurrentPrincipal, current: CurrentDeployment, open_only: Annotated[bool, Query(alias="open")] = True
) -> list[DeadlineAlertOut]:
    return _alerts(_call(lambda: current.alerts.escalations(who, open_only=open_only)))


@router.get(
    "/reminders",
    response_model=list[DeadlineAlertOut],
    summary="临近法定期限的提醒（我认领的及本部门未认领的）",
)
def reminders(
    who: CurrentPrincipal, current: CurrentDeployment, open_only: Annotated[bool, Query(alias="open")] = True
) -> list[DeadlineAlertOut]:
    return _alerts(_call(lambda: current.alerts.reminders(who, open_only=open_only)))
