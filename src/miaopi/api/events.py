"""Events in (无感审批): a department's officer or service account posts its own event types."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from miaopi.api.dependencies import deployment
from miaopi.api.security import CurrentPrincipal
from miaopi.approval import IntakeError
from miaopi.deployment import Deployment
from miaopi.events import EventIn, EventRejected, validate_event
from miaopi.events.types import EVENT_TYPES

router = APIRouter(prefix="/events", tags=["事件"])
CurrentDeployment = Annotated[Deployment, Depends(deployment)]


class EventOut(BaseModel):
    event_id: str
    source: str
    stored: bool
    duplicate: bool
    outcome: list[dict[str, Any]]
    cases: list[str]
    received_at: dt.datetime


class EventTypeOut(BaseModel):
    code: str
    label: str
    subject: str
    sources: list[str]
    fields: list[dict[str, Any]]


@router.post(
    "",
    response_model=EventOut,
    status_code=201,
    summary="接收部门事件（登记变更、证照到期、人生事件），存储一次并触发无感审批",
    responses={
        200: {"description": "重复的事件编号：已确认，忽略"},
        403: {"description": "本部门无权发送该类型的事件"},
        422: {"description": "事件内容有误：指明字段和原因"},
    },
)
async def post_event(
    body: EventIn, principal: CurrentPrincipal, current: CurrentDeployment, response: Response
) -> EventOut:
    if principal.kind != "officer" or principal.department is None:
        raise HTTPException(403, "只有部门工作人员或部门服务账号可以发送事件")
    try:
        event = validate_event(body, principal.department, "http")
    except EventRejected as error:
        raise IntakeError(error.field, error.reason, error.status) from None
    (result,) = await run_in_threadpool(current.events.ingest, [event])
    if result.duplicate:
        response.status_code = 200
    return EventOut(
        event_id=event.event_id,
        source=event.source,
        stored=not result.duplicate,
        duplicate=result.duplicate,
        outcome=result.outcome,
        cases=result.cases,
        received_at=event.received_at,
    )


@router.get("/types", response_model=list[EventTypeOut], summary="可接收的事件类型及其发送部门、字段")
def event_types() -> list[EventTypeOut]:
    return [
        EventTypeOut(
            code=event.code,
            label=event.label,
            subject=event.subject,
            sources=list(event.sources),
            fields=[
                {"name": f.name, "type": f.type.value, "label": f.label, "required": f.required}
                for f in event.fields
            ],
        )
        for event in EVENT_TYPES.values()
    ]
