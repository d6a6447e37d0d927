"""Notifications over HTTP: one's own in-app inbox (站内信) and contacts; delivery figures and the
development gateways' record for staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from miaopi.api.dependencies import deployment
from miaopi.api.security import CurrentPrincipal
from miaopi.approval import IntakeError
from miaopi.deployment import Deployment
from miaopi.notifications import CHANNEL_NAMES, STATUS_LABELS, NotificationConflict, NotificationError
from miaopi.notifications.models import Message, Recorded

router = APIRouter(tags=["通知"])
CurrentDeployment = Annotated[Deployment, Depends(deployment)]
T = TypeVar("T")


async def _call(action: Callable[[], T]) -> T:
    try:
        return await run_in_threadpool(action)
    except PermissionError as error:
        raise HTTPException(403, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except NotificationError as error:
        raise HTTPException(422, str(error)) from None
    except NotificationConflict as error:
        raise HTTPException(409, str(error)) from None


class InboxMessageOut(BaseModel):
    id: str
    template: str
    title: str
    body: str
    reference: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, message: Message) -> InboxMessageOut:
        return cls(
            id=message.id,
            template=message.template,
            title=message.title,
            body=message.body,
            reference=message.reference,
            created_at=message.created_at,
            read_at=message.read_at,
        )


class InboxOut(BaseModel):
    unread: int = Field(description="未读消息数")
    messages: list[InboxMessageOut]


@router.get("/inbox", response_model=InboxOut, summary="我的站内信（只含本人的消息，最新在前）")
async def inbox(
    who: CurrentPrincipal,
    current: CurrentDeployment,
    unread: Annotated[bool, Query(description="只看未读")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> InboxOut:
    messages, count = await _call(
        lambda: current.notifications.inbox(who, unread_only=unread, limit=limit, offset=offset)
    )
    return InboxOut(unread=count, messages=[InboxMessageOut.of(message) for message in messages])


MessageId = Annotated[str, Path(min_length=1, max_length=32, description="消息编号")]


@router.post("/inbox/{message_id}/read", response_model=InboxMessageOut, summary="标记站内信为已读")
async def read(message_id: MessageId, who: CurrentPrincipal, current: CurrentDeployment) -> InboxMessageOut:
    return InboxMessageOut.of(await _call(lambda: current.notifications.mark_read(who, message_id)))


class ContactIn(BaseModel):
    address: str = Field(min_length=1, max_length=254, description="手机号码、微信 OpenID 或电子邮箱地址")


@router.get("/inbox/contacts", response_model=dict[str, str], summary="我登记的联系方式（已脱敏）")
async def contacts(who: CurrentPrincipal, current: CurrentDeployment) -> dict[str, str]:
    return await _call(lambda: current.notifications.contacts(who))


@router.put(
    "/inbox/contacts/{channel}",
    response_model=dict[str, str],
    summary="登记接收通知的联系方式（短信、微信、电子邮件）",
    responses={422: {"description": "格式不正确"}},
)
async def set_contact(
    channel: Literal["sms", "wechat", "email"],
    body: ContactIn,
    who: CurrentPrincipal,
    current: CurrentDeployment,
) -> dict[str, str]:
    try:
        masked = await run_in_threadpool(current.notifications.set_contact, who, channel, body.address)
    except NotificationError as error:
        raise IntakeError("address", str(error)) from None
    except PermissionError as error:
        raise HTTPException(403, str(error)) from None
    return {channel: masked}


class ChannelStatsOut(BaseModel):
    channel: str
    name: str
    counts: dict[str, int] = Field(
        description="queued 待发送 / sent 已发送 / delivered 已送达 / failed 发送失败"
    )
    recording_only: bool = Field(description="未配置网关：只记录，不真正发送")


class StatsOut(BaseModel):
    channels: list[ChannelStatsOut]
    status_labels: dict[str, str]


@router.get("/notifications/stats", response_model=StatsOut, summary="各渠道通知发送情况（工作人员）")
async def stats(who: CurrentPrincipal, current: CurrentDeployment) -> StatsOut:
    counts = await _call(lambda: current.notifications.stats(who))
    recording = set(current.notifications.config.recording)
    return StatsOut(
        channels=[
            ChannelStatsOut(
                channel=channel,
                name=CHANNEL_NAMES.get(channel, channel),
                counts=by_status,
                recording_only=channel in recording,
            )
            for channel, by_status in counts.items()
        ],
        status_labels=dict(STATUS_LABELS),
    )


class RecordedOut(BaseModel):
    id: int
    delivery_id: int
    channel: str
    address: str = Field(description="已脱敏")
    text: str
    recorded_at: dt.datetime

    @classmethod
    def of(cls, row: Recorded) -> RecordedOut:
        return cls(
            id=row.id,
            delivery_id=row.delivery_id,
            channel=row.channel,
            address=row.address,
            text=row.text,
            recorded_at=row.recorded_at,
        )


@router.get(
    "/notifications/recorded",
    response_model=list[RecordedOut],
    summary="开发部署：未配置网关的渠道本应发出的内容（工作人员）",
)
async def recorded(
    who: CurrentPrincipal,
    current: CurrentDeployment,
    channel: Annotated[Literal["sms", "wechat", "email"] | None, Query(description="渠道")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RecordedOut]:
    rows = await _call(lambda: current.notifications.recorded(who, channel=channel, limit=limit))
    return [RecordedOut.of(row) for row in rows]


class ReceiptIn(BaseModel):
    id: str = Field(min_length=1, max_length=96, description="网关在受理时返回的编号")
    status: Literal["delivered", "failed"] = Field(description="delivered 已送达 / failed 未送达")
    reason: str | None = Field(default=None, max_length=200, description="未送达的原因")


class ReceiptOut(BaseModel):
    message_id: str
    channel: str
    status: str
    status_label: str


@router.post(
    "/notifications/receipts/{channel}",
    response_model=ReceiptOut,
    summary="短信、微信网关的送达回执（网关以回执令牌认证）",
)
async def receipt(
    channel: Literal["sms", "wechat"],
    body: ReceiptIn,
    current: CurrentDeployment,
    authorization: Annotated[str | None, Header(description="Bearer <回执令牌>")] = None,
) -> ReceiptOut:
    token = authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
    delivery = await _call(
        lambda: current.notifications.receipt(channel, token, body.id, body.status, body.reason)
    )
    return ReceiptOut(
        message_id=delivery.message_id,
        channel=delivery.channel,
        status=delivery.status,
        status_label=STATUS_LABELS[delivery.status],
    )
