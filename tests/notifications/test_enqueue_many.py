"""enqueue_many: a batch queued with one INSERT per table and one audit append — the same rows and
audit entries as one enqueue per message, and one invalid message refuses the whole batch."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from miaopi.audit import AuditLog
from miaopi.audit.models import AuditLogRecord
from miaopi.notifications import NewMessage, NotificationError, Notifications
from miaopi.notifications.models import Delivery, Message
from miaopi.store import Database
from tests.notifications.conftest import ENTERPRISE, OFFER, OFFICER, PERSON

REMINDER = {"case_no": "MP20261122A1B2C3D4E5", "item": "食品经营许可", "deadline": "2026-12-01"}
BATCH = [
    NewMessage(PERSON, "offer.made", dict(OFFER), ("inbox", "sms"), "OFABCDEFGHIJKLMNOP"),
    NewMessage(ENTERPRISE, "offer.made", {**OFFER, "amount": "一次性 1,200 元"}),
    NewMessage(OFFICER, "review.reminder", dict(REMINDER), ("inbox",), None, "officer:lead"),
    NewMessage(PERSON, "offer.made", dict(OFFER), ("sms", "inbox", "sms"), "OFQRSTUVWXYZABCDEF"),
]


def count(database: Database, table: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def queued(database: Database, seqs: range) -> list[tuple[Any, ...]]:
    """Each message queued with the audit entries ``seqs``, in audit order: its audit entry, its
    message row and its deliveries — everything but the random message id and the chain hashes."""
    with database.session() as session:
        entries = session.scalars(
            select(AuditLogRecord)
            .where(AuditLogRecord.seq >= seqs.start, AuditLogRecord.seq < seqs.stop)
            .order_by(AuditLogRecord.seq)
        ).all()
        result = []
        for entry in entries:
            message = session.get(Message, entry.target)
            assert message is not None
            deliveries = session.execute(
                select(
                    Delivery.channel,
                    Delivery.status,
                    Delivery.text,
                    Delivery.attempts,
                    Delivery.next_attempt_at,
                )
                .where(Delivery.message_id == message.id)
                .order_by(Delivery.id)
            ).all()
            result.append(
                (
                    (entry.actor, entry.action, entry.outcome, entry.details, entry.recorded_at),
                    (
                        message.recipient,
                        message.template,
                        message.variables,
                        message.title,
                        message.body,
                        message.reference,
                        message.created_at,
                        message.read_at,
                    ),
                    [tuple(row) for row in deliveries],
                )
            )
        return result


def test_enqueue_many_writes_what_one_enqueue_per_message_writes(
    database: Database, notifications: Notifications
) -> None:
    with database.session() as session:
        one_by_one = [
            notifications.enqueue(
                session,
                recipient=message.recipient,
                template=message.template,
                variables=message.variables,
                channels=message.channels,
                reference=message.reference,
                actor=message.actor,
            )
            for message in BATCH
        ]
    with database.session() as session:
        batched = notifications.enqueue_many(session, BATCH)
    assert len(batched) == len(BATCH) and not set(batched) & set(one_by_one)
    assert count(database, Message) == 2 * len(BATCH) and count(database, AuditLogRecord) == 2 * len(BATCH)
    n = len(BATCH)
    first, second = queued(database, range(1, n + 1)), queued(database, range(n + 1, 2 * n + 1))
    assert len(first) == n and second == first
    # The ids come back in the order of the messages, and the audit chain stays intact.
    with database.session() as session:
        targets = list(
            session.scalars(
                select(AuditLogRecord.target)
                .where(AuditLogRecord.seq > len(BATCH))
                .order_by(AuditLogRecord.seq)
            )
        )
        assert targets == batched
        assert [session.get(Message, message_id).reference for message_id in batched] == [  # type: ignore[union-attr]
            message.reference for message in BATCH
        ]
        assert AuditLog().verify(session).ok


def test_an_empty_batch_writes_nothing(database: Database, notifications: Notifications) -> None:
    with database.session() as session:
        assert notifications.enqueue_many(session, []) == []
    assert count(database, Message) == 0 and count(database, AuditLogRecord) == 0


@pytest.mark.parametrize(
    "invalid",
    [
        NewMessage(PERSON, "nothing", dict(OFFER)),
        NewMessage(PERSON, "offer.made", {**OFFER, "policy": "13812345678"}),
        NewMessage(PERSON, "offer.made", dict(OFFER), ("inbox", "fax")),
        NewMessage("110105194912310022", "offer.made", dict(OFFER)),
        NewMessage(PERSON, "offer.made", {**OFFER, "deadline": "长" * 201}),
        NewMessage(PERSON, "offer.made", dict(OFFER), ("inbox",), "申请人 11010519491231002X"),
    ],
)
def test_one_invalid_message_refuses_the_whole_batch_with_enqueues_error(
    database: Database, notifications: Notifications, invalid: NewMessage
) -> None:
    with database.session() as session:
        with pytest.raises(NotificationError) as alone:
            notifications.enqueue(
                session,
                recipient=invalid.recipient,
                template=invalid.template,
                variables=invalid.variables,
                channels=invalid.channels,
                reference=invalid.reference,
            )
        with pytest.raises(NotificationError) as batch:
            notifications.enqueue_many(session, [*BATCH[:2], invalid, *BATCH[2:]])
        # The caller goes on and commits: the refused batch left nothing behind, not even its
        # valid messages.
    assert str(batch.value) == str(alone.value)
    assert count(database, Message) == 0 and count(database, Delivery) == 0
    assert count(database, AuditLogRecord) == 0
