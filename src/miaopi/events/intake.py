"""What an event carries when it arrives (HTTP or NATS), validated at the boundary: a known type,
sent by a department that owns that type, about a valid subject of the right kind, with a typed
payload. Every refusal names the field and the reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from miaopi.events.types import EVENT_TYPES, EventType
from miaopi.identity import IdentifierError, parse_subject_id
from miaopi.rules import FactType

EVENT_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"
PayloadValue = str | int | float | bool | None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=EVENT_ID_PATTERN, description="事件编号（发送部门内唯一；重复发送只保存一次）")
    type: str = Field(min_length=1, max_length=64, description="事件类型，如 enterprise.name_changed")
    subject: str = Field(min_length=1, max_length=32, description="事件主体：公民身份号码或统一社会信用代码")
    occurred_on: dt.date = Field(description="事件发生日期")
    payload: dict[str, PayloadValue] = Field(default_factory=dict, max_length=20)


class EventRejected(ValueError):
    """The event cannot be accepted; ``status`` is 403 for a type the sender does not own, else 422."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class ValidEvent:
    source: str
    event_id: str
    type: EventType
    subject: str
    occurred_on: dt.date
    payload: dict[str, Any]  # typed: dates are dates
    channel: str  # http | nats | scan
    received_at: dt.datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.event_id)

    def occasion(self) -> str:
        return ":".join(str(self.payload.get(name)) for name in self.type.occasion)

    def facts(self) -> dict[str, Any]:
        return {f"event.{name}": value for name, value in self.payload.items()}

    def stored_payload(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in self.payload.items()}


def validate_event(
    event: EventIn, source: str, channel: str, received_at: dt.datetime | None = None
) -> ValidEvent:
    event_type = EVENT_TYPES.get(event.type)
    if event_type is None:
        raise EventRejected("type", f"未知的事件类型“{event.type}”；可用：{', '.join(EVENT_TYPES)}")
    if source not in event_type.sources:
        raise EventRejected(
            "type",
            f"部门“{source}”无权发送“{event_type.label}”事件（由 {', '.join(event_type.sources)} 发送）",
            403,
        )
    try:
        kind, subject, _warning = parse_subject_id(event.subject)
    except IdentifierError as error:
        raise EventRejected("subject", error.message) from None
    if kind.value != event_type.subject:
        expected = "公民身份号码" if event_type.subject == "person" else "统一社会信用代码"
        raise EventRejected("subject", f"“{event_type.label}”事件的主体应为{expected}")
    payload: dict[str, Any] = {}
    for name in event.payload:
        if event_type.field(name) is None:
            raise EventRejected(f"payload.{name}", f"“{event_type.label}”事件没有该字段")
    for field in event_type.fields:
        raw = event.payload.get(field.name)
        if raw is None:
            if field.required:
                raise EventRejected(f"payload.{field.name}", f"缺少“{field.label}”")
            payload[field.name] = None
            continue
        payload[field.name] = _typed(raw, field.type, f"payload.{field.name}", field.label)
    return ValidEvent(
        source=source,
        event_id=event.id,
        type=event_type,
        subject=subject,
        occurred_on=event.occurred_on,
        payload=payload,
        channel=channel,
        received_at=received_at or dt.datetime.now(dt.UTC),
    )


def _typed(raw: PayloadValue, fact_type: FactType, field: str, label: str) -> Any:
    if fact_type is FactType.DATE:
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
        raise EventRejected(field, f"“{label}”应为日期（YYYY-MM-DD）")
    if fact_type is FactType.INTEGER:
        if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) <= 10**9:
            return raw
        raise EventRejected(field, f"“{label}”应为整数")
    if fact_type is FactType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        raise EventRejected(field, f"“{label}”应为 true 或 false")
    if fact_type is FactType.NUMBER:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        raise EventRejected(field, f"“{label}”应为数字")
    if isinstance(raw, str) and 0 < len(raw) <= 200:
        return raw
    raise EventRejected(field, f"“{label}”应为1–200字的文本")
