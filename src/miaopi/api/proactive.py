"""无感审批 for the subject: the cases prepared for them — list, view, verify identity, confirm,
decline — and the figures per trigger."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from miaopi.api.dependencies import deployment
from miaopi.api.security import CurrentPrincipal
from miaopi.deployment import Deployment
from miaopi.identity import mask_identifier
from miaopi.offers import ConfirmIn
from miaopi.proactive import STATUS_LABELS, CaseNotFound, ProactiveConflict, TriggerFigures, trigger_figures
from miaopi.proactive.models import ProactiveCase
from miaopi.proactive.service import PAYEE, PayeeRequired

router = APIRouter(prefix="/proactive", tags=["无感审批"])
CurrentDeployment = Annotated[Deployment, Depends(deployment)]


class ProactiveCaseOut(BaseModel):
    id: str
    trigger: str
    target_kind: str
    target: str
    target_name: str
    status: str = Field(
        description=(
            "notified → viewed → verified → confirmed → decided → delivered；或 declined（放弃）、"
            "expired（逾期）、ended（当事人已死亡，办件终止）"
        )
    )
    status_label: str
    subject: str  # masked
    contact: str | None  # masked: who is verified and confirms
    form: dict[str, Any]
    form_fields_prefilled: int
    materials: list[dict[str, Any]]
    materials_waived: int
    amount: float | None
    replaced_licence: dict[str, Any] | None
    successor_licence: str | None
    interactions: int
    reminders: int
    expires_on: dt.date
    detected_at: dt.datetime
    case_no: str | None
    offer: str | None  # a benefit policy's offer (GET /api/v1/offers/{id})
    decision: str | None

    @classmethod
    def of(cls, case: ProactiveCase) -> ProactiveCaseOut:
        return cls(
            id=case.id,
            trigger=case.trigger_id,
            target_kind=case.target_kind,
            target=case.target,
            target_name=case.target_name,
            status=case.status,
            status_label=STATUS_LABELS[case.status],
            subject=mask_identifier(case.subject),
            contact=mask_identifier(case.contact) if case.contact else None,
            form=_masked(case.form),
            form_fields_prefilled=case.form_fields,
            materials=case.materials,
            materials_waived=case.materials_waived,
            amount=case.amount,
            replaced_licence=case.replaced_licence,
            successor_licence=case.successor_licence,
            interactions=case.interactions,
            reminders=case.reminders,
            expires_on=case.expires_on,
            detected_at=case.detected_at,
            case_no=case.case_no,
            offer=case.benefit,
            decision=case.decision,
        )


def _masked(form: dict[str, Any]) -> dict[str, Any]:
    """The pre-filled form; a benefit case's payee account (kept while its offer waits) masked."""
    payee = form.get(PAYEE)
    if not isinstance(payee, dict):
        return form
    return {**form, PAYEE: {**payee, "account": mask_identifier(str(payee.get("account", "")))}}


class VerificationOut(BaseModel):
    case: ProactiveCaseOut
    passed: bool
    reason: str


class DeclineIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500, description="放弃原因（可选）")


class StepOut(BaseModel):
    step: str
    label: str
    at: dt.datetime


def _missing(error: CaseNotFound) -> HTTPException:
    return HTTPException(404, str(error).strip("'\""))


@router.get("/cases", response_model=list[ProactiveCaseOut], summary="为我准备的无感审批办件")
async def list_cases(principal: CurrentPrincipal, current: CurrentDeployment) -> list[ProactiveCaseOut]:
    try:
        cases = await run_in_threadpool(current.proactive.cases_of, principal)
    except CaseNotFound as error:
        raise _missing(error) from None
    return [ProactiveCaseOut.of(case) for case in cases]


@router.get("/cases/{case_id}", response_model=ProactiveCaseOut, summary="查看预填好的办件（第1次交互）")
async def view_case(
    case_id: str, principal: CurrentPrincipal, current: CurrentDeployment
) -> ProactiveCaseOut:
    try:
        return ProactiveCaseOut.of(await run_in_threadpool(current.proactive.view, principal, case_id))
    except CaseNotFound as error:
        raise _missing(error) from None


@router.get("/cases/{case_id}/steps", response_model=list[StepOut], summary="服务跟踪：办件的每一步")
async def case_steps(case_id: str, principal: CurrentPrincipal, current: CurrentDeployment) -> list[StepOut]:
    try:
        steps = await run_in_threadpool(current.proactive.steps, principal, case_id)
    except CaseNotFound as error:
        raise _missing(error) from None
    return [StepOut(step=s.step, label=s.label, at=s.at) for s in steps]


@router.post(
    "/cases/{case_id}/verify",
    response_model=VerificationOut,
    summary="身份核验：实名 + 人脸识别（第2次交互）",
    responses={404: {"description": "没有该办件（或不是您的）"}, 409: {"description": "办件状态不允许"}},
)
async def verify_identity(
    case_id: str, principal: CurrentPrincipal, current: CurrentDeployment
) -> VerificationOut:
    try:
        case, reason, passed = await run_in_threadpool(current.proactive.verify, principal, case_id)
    except CaseNotFound as error:
        raise _missing(error) from None
    except ProactiveConflict as error:
        raise HTTPException(409, str(error)) from None
    return VerificationOut(case=ProactiveCaseOut.of(case), passed=passed, reason=reason)


@router.post(
    "/cases/{case_id}/confirm",
    response_model=ProactiveCaseOut,
    summary="一键确认：提交秒批，或确认享受津贴补贴（第3次交互）",
    description=(
        "事项办件：确认即提交秒批，请求体可省略。政策（免申即享）办件：确认即享受，请求体为收款账户 "
        '{"bank": "开户银行", "account": "银行账号"}；此前确认过该政策的，可省略，沿用上次的账户。'
    ),
    responses={
        404: {"description": "没有该办件（或不是您的）"},
        409: {"description": "未核验身份、办件已关闭，或已不符合享受条件"},
        422: {"description": "政策办件缺少收款账户，或账户格式有误"},
    },
)
async def confirm_case(
    case_id: str, principal: CurrentPrincipal, current: CurrentDeployment, body: ConfirmIn | None = None
) -> ProactiveCaseOut:
    try:
        return ProactiveCaseOut.of(
            await run_in_threadpool(current.proactive.confirm, principal, case_id, body)
        )
    except CaseNotFound as error:
        raise _missing(error) from None
    except ProactiveConflict as error:
        raise HTTPException(409, str(error)) from None
    except PayeeRequired as error:
        raise HTTPException(422, str(error)) from None


@router.post("/cases/{case_id}/decline", response_model=ProactiveCaseOut, summary="放弃办理")
async def decline_case(
    case_id: str, principal: CurrentPrincipal, current: CurrentDeployment, body: DeclineIn | None = None
) -> ProactiveCaseOut:
    try:
        case = await run_in_threadpool(
            current.proactive.decline, principal, case_id, body.reason if body is not None else None
        )
    except CaseNotFound as error:
        raise _missing(error) from None
    except ProactiveConflict as error:
        raise HTTPException(409, str(error)) from None
    return ProactiveCaseOut.of(case)


class CourierIn(BaseModel):
    leg: Literal["collected", "delivered"] = Field(description="collected：旧证已回收；delivered：新证已送达")


class CourierOut(BaseModel):
    case_id: str
    old_licence: str | None
    new_licence: str | None
    collect_status: str
    deliver_status: str
    updated_at: dt.datetime


@router.post(
    "/cases/{case_id}/courier",
    response_model=CourierOut,
    summary="（办理部门）登记免费政务快递：旧证回收、新证送达",
    responses={403: {"description": "不是部门工作人员"}, 404: {"description": "本部门没有该快递"}},
)
async def courier_leg(
    case_id: str, body: CourierIn, principal: CurrentPrincipal, current: CurrentDeployment
) -> CourierOut:
    try:
        record = await run_in_threadpool(current.proactive.courier, principal, case_id, body.leg)
    except PermissionError as error:
        raise HTTPException(403, str(error)) from None
    except CaseNotFound as error:
        raise _missing(error) from None
    except ProactiveConflict as error:
        raise HTTPException(409, str(error)) from None
    return CourierOut(
        case_id=record.case_id,
        old_licence=record.old_licence,
        new_licence=record.new_licence,
        collect_status=record.collect_status,
        deliver_status=record.deliver_status,
        updated_at=record.updated_at,
    )


@router.get("/stats", response_model=list[TriggerFigures], summary="各触发器的无感审批数据（青岛口径）")
def stats(current: CurrentDeployment) -> list[TriggerFigures]:
    with current.database.session() as session:
        return trigger_figures(session, current.catalog)
