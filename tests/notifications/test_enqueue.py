"""enqueue: the transactional outbox — validated, written in the caller's transaction or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from miaopi.audit.models import AuditLogRecord
from miaopi.notifications import NotificationError, Notifications
from miaopi.notifications.models import Delivery, Message
from miaopi.store import Database
from tests.notifications.conftest import ENTERPRISE, OFFER, OFFICER, PERSON


def count(database: Database, table: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_enqueue_writes_message_deliveries_and_audit_in_the_callers_transaction(
    database: Database, notifications: Notifications
) -> None:
    with database.session() as session:
        message_id = notifications.enqueue(
            session,
            recipient=PERSON,
            template="offer.made",
            variables=OFFER,
            channels=("inbox", "sms"),
            reference="OF123",
        )
    with database.session() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert message.recipient == PERSON and message.reference == "OF123"
        assert message.title == "免申即享：老年综合津贴"
        assert "每月 75 元" in message.body and "2026-12-31" in message.body
        deliveries = {row.channel: row for row in session.scalars(select(Delivery))}
    assert set(deliveries) == {"inbox", "sms"}
    assert all(row.status == "queued" and row.attempts == 0 for row in deliveries.values())
    assert deliveries["sms"].text.startswith("【秒批】") and deliveries["inbox"].text == message.body
    with database.session() as session:
        entry = session.scalars(select(AuditLogRecord).where(AuditLogRecord.target == message_id)).one()
    assert entry.action == "notification.queued"
    assert PERSON not in entry.details and "offer.made" in entry.details


def test_a_rolled_back_transaction_leaves_no_message(
    database: Database, notifications: Notifications
) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        notifications.enqueue(session, recipient=PERSON, template="offer.made", variables=OFFER)
        raise RuntimeError("the caller's own change failed")
    assert count(database, Message) == 0 and count(database, Delivery) == 0


def test_recipients_subject_or_officer(database: Database, notifications: Notifications) -> None:
    with database.session() as session:
        for recipient in (PERSON, ENTERPRISE, OFFICER, PERSON.lower(), "officer:王审核"):
            notifications.enqueue(
                session,
                recipient=recipient,
                template="review.reminder",
                variables={
                    "case_no": "MP20261122A1B2C3D4E5",
                    "item": "食品经营许可",
                    "deadline": "2026-12-01",
                },
            )
    with database.session() as session:
        assert sorted(session.scalars(select(Message.recipient))) == sorted(
            [PERSON, ENTERPRISE, OFFICER, PERSON, "officer:王审核"]
        )


def _refused(notifications: Notifications, database: Database, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "recipient": PERSON,
        "template": "offer.made",
        "variables": dict(OFFER),
        "channels": ("inbox",),
    }
    arguments.update(overrides)
    with pytest.raises(NotificationError) as refused, database.session() as session:
        notifications.enqueue(session, **arguments)  # type: ignore[arg-type]
    assert count(database, Message) == 0
    return str(refused.value)


def test_missing_and_extra_variables_are_named(database: Database, notifications: Notifications) -> None:
    message = _refused(
        notifications, database, variables={"policy": "老年综合津贴", "amount": "75 元", "x": "1"}
    )
    assert "缺少变量 deadline（确认期限（日期））" in message and "模板未声明的变量 x" in message


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("11010519491231002X", "公民身份号码"),
        ("申请人 110105194912310021", "公民身份号码"),
        ("91350100M0001TGQXM", "统一社会信用代码"),
        ("13812345678", "手机号码"),
        ("请致电 +86 138-1234-5678", "手机号码"),
        ("６２２２０２０２０００００００００００", "银行卡号"),
    ],
)
def test_personal_data_in_a_variable_is_refused_without_repeating_it(
    database: Database, notifications: Notifications, value: str, kind: str
) -> None:
    message = _refused(notifications, database, variables={**OFFER, "policy": value})
    assert f"变量 policy 的取值疑似包含{kind}" in message
    assert value not in message


def test_masked_identifiers_and_case_numbers_pass(database: Database, notifications: Notifications) -> None:
    with database.session() as session:
        notifications.enqueue(
            session,
            recipient=PERSON,
            template="case.decided",
            variables={
                "case_no": "MP20261122A1B2C3D4E5",
                "item": "高龄津贴（1101**********002X）",
                "outcome": "准予",
            },
        )
    assert count(database, Message) == 1


def test_other_refusals(database: Database, notifications: Notifications) -> None:
    assert "通知模板 nothing 不存在" in _refused(notifications, database, template="nothing")
    assert "未知的通知渠道 fax" in _refused(notifications, database, channels=("inbox", "fax"))
    assert "至少一个" in _refused(notifications, database, channels=())
    assert "变量 amount 的取值应为字符串" in _refused(
        notifications, database, variables={**OFFER, "amount": 75}
    )
    assert "模板未声明的变量 7" in _refused(notifications, database, variables={**OFFER, 7: "x"})
    assert "为空" in _refused(notifications, database, variables={**OFFER, "amount": " "})
    invalid = _refused(notifications, database, recipient="110105194912310022")
    assert "收件人无效" in invalid and "110105194912310022" not in invalid
    assert "reference" in _refused(notifications, database, reference="x" * 65)
    assert "reference 疑似包含公民身份号码" in _refused(notifications, database, reference=PERSON)
    long_title = _refused(notifications, database, variables={**OFFER, "policy": "长" * 196})
    assert "标题 200 字，超过上限 200 字" not in long_title and "标题 201 字，超过上限 200 字" in long_title


def test_a_text_too_long_for_sms_is_refused_before_it_is_queued(
    database: Database, notifications: Notifications
) -> None:
    long_policy = "关于进一步支持中小微企业稳定岗位扩大就业的若干措施" * 7  # 175 characters
    message = _refused(notifications, database, variables={**OFFER, "policy": long_policy}, channels=("sms",))
    assert "短信正文" in message and "需 4 条短信，超过上限 3 条" in message
    # The inbox carries it.
    with database.session() as session:
        notifications.enqueue(
            session, recipient=PERSON, template="offer.made", variables={**OFFER, "policy": long_policy}
        )
