"""The event types the platform accepts: who may send each, about which kind of subject, with which
payload fields (typed, so trigger conditions can read them as ``event.<field>``).

Kept free of database and catalogue imports: the catalogue loader reads it to type-check triggers.
"""

from __future__ import annotations

from dataclasses import dataclass

from miaopi.rules import FactType

PLATFORM = "data_bureau"  # the platform's own scans send as the data bureau (政务服务和数据管理局)


@dataclass(frozen=True)
class EventField:
    name: str
    type: FactType
    label: str
    required: bool = True


@dataclass(frozen=True)
class EventType:
    code: str
    label: str
    subject: str  # person | enterprise
    sources: tuple[str, ...]  # departments that may send it
    fields: tuple[EventField, ...]
    # Payload fields that tell one occasion from another (a second event for the same occasion
    # never opens a second proactive case).
    occasion: tuple[str, ...]

    def field(self, name: str) -> EventField | None:
        return next((field for field in self.fields if field.name == name), None)


def _f(name: str, type_: FactType, label: str, *, required: bool = True) -> EventField:
    return EventField(name, type_, label, required)


_CHANGE = (_f("change_date", FactType.DATE, "变更登记日期"),)
_MARKET = ("market_regulation",)

EVENT_TYPES: dict[str, EventType] = {
    event.code: event
    for event in (
        EventType(
            "enterprise.name_changed", "企业名称变更登记", "enterprise", _MARKET, _CHANGE, ("change_date",)
        ),
        EventType(
            "enterprise.legal_rep_changed",
            "法定代表人变更登记",
            "enterprise",
            _MARKET,
            _CHANGE,
            ("change_date",),
        ),
        EventType(
            "enterprise.address_changed", "住所变更登记", "enterprise", _MARKET, _CHANGE, ("change_date",)
        ),
        EventType(
            "enterprise.scope_changed", "经营范围变更登记", "enterprise", _MARKET, _CHANGE, ("change_date",)
        ),
        EventType(
            "licence.expiring",
            "证照即将到期",
            "enterprise",
            (PLATFORM,),
            (
                _f("licence_type", FactType.STRING, "证照类型"),
                _f("licence_number", FactType.STRING, "证照编号"),
                _f("valid_to", FactType.DATE, "有效期至"),
                _f("days_left", FactType.INTEGER, "距到期天数（扫描日起）"),
            ),
            ("licence_number", "valid_to"),
        ),
        EventType(
            "licence.person_expiring",
            "个人证照即将到期",
            "person",
            (PLATFORM,),
            (
                _f("licence_type", FactType.STRING, "证照类型"),
                _f("licence_number", FactType.STRING, "证照编号"),
                _f("valid_to", FactType.DATE, "有效期至"),
                _f("days_left", FactType.INTEGER, "距到期天数（扫描日起）"),
            ),
            ("licence_number", "valid_to"),
        ),
        EventType(
            "person.turned_age",
            "年满周岁（65/70/80）",
            "person",
            ("public_security", PLATFORM),
            (_f("age", FactType.INTEGER, "周岁"), _f("birthday", FactType.DATE, "满该周岁之日")),
            ("age",),
        ),
        EventType(
            "person.graduated",
            "毕业",
            "person",
            ("education",),
            (_f("degree", FactType.STRING, "学历"), _f("graduation_date", FactType.DATE, "毕业日期")),
            ("degree", "graduation_date"),
        ),
        EventType(
            "person.birth_registered",
            "子女出生登记（事件主体为父母一方）",
            "person",
            ("public_security", "health"),
            (_f("birth_date", FactType.DATE, "出生日期"),),
            ("birth_date",),
        ),
        EventType(
            "person.died",
            "死亡登记",
            "person",
            ("public_security", "health"),
            (_f("death_date", FactType.DATE, "死亡日期"),),
            ("death_date",),
        ),
    )
}
TRACKED_AGES = (65, 70, 80)


def event_facts(event_type: EventType) -> dict[str, FactType]:
    """The names a trigger condition on this event type may read besides the subject's facts."""
    return {f"event.{field.name}": field.type for field in event_type.fields}
