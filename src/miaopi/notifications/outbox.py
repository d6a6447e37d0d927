"""The notifications service: queue messages in the caller's transaction (transactional outbox),
read one's own inbox, and see delivery figures.

``enqueue`` (and ``enqueue_many`` for a batch) only writes rows — the message, one delivery per
channel, an audit entry — in the session it is given, so a message exists exactly when the caller's
change commits; the dispatcher (:mod:`miaopi.notifications.dispatcher`) sends it afterwards.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from miaopi.audit import AuditLog, AuditRecord
from miaopi.auth import Principal
from miaopi.identity import IdentifierError, mask_identifier, parse_subject_id
from miaopi.notifications.channels import CHANNEL_NAMES, CONTACT_NAMES
from miaopi.notifications.config import NotificationConfig
from miaopi.notifications.models import Contact, Delivery, Message, Recorded
from miaopi.notifications.privacy import personal_data_in
from miaopi.notifications.templates import Templates
from miaopi.store import Database
from miaopi.store.bulk import insert_many

STATUSES = ("queued", "sent", "delivered", "failed")
STATUS_LABELS = {"queued": "待发送", "sent": "已发送", "delivered": "已送达", "failed": "发送失败"}
VISIBLE_IN_INBOX = ("sent", "delivered")
MAX_VARIABLE_CHARS = 200
MAX_TITLE_CHARS = 200  # notification_message.title
OFFICER = re.compile(r"^officer:\S{1,80}$")  # an officer actor, as Principal.actor names it
CONTACT_FORMS = {
    "sms": re.compile(r"^1[3-9]\d{9}$"),
    "wechat": re.compile(r"^[A-Za-z0-9_\-]{6,64}$"),
    "email": re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$"),
}
SYSTEM_ACTOR = "system:notifications"
MESSAGES = cast(Table, Message.__table__)
DELIVERIES = cast(Table, Delivery.__table__)


class NotificationError(ValueError):
    """A message cannot be queued as asked; the Chinese message says which part and why."""


class NotificationConflict(ValueError):
    """The delivery is not in a state that allows the change (e.g. a receipt for a failed message)."""


@dataclass(frozen=True)
class NewMessage:
    """One message to queue with ``Notifications.enqueue_many`` (the arguments of ``enqueue``)."""

    recipient: str
    template: str
    variables: dict[str, str]
    channels: Sequence[str] = ("inbox",)
    reference: str | None = None
    actor: str = SYSTEM_ACTOR


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def recipient_of(principal: Principal) -> str | None:
    """Whose inbox a principal reads: the subject of an applicant, the actor of an officer."""
    if principal.kind == "officer":
        return principal.actor
    return principal.subject_id


def _recipient(value: str) -> str:
    if not isinstance(value, str):
        raise NotificationError("收件人应为字符串")
    if OFFICER.match(value):
        return value
    try:
        return parse_subject_id(value)[1]
    except IdentifierError:
        # The value itself is personal data: never repeated in the message.
        raise NotificationError(
            "收件人无效：应为公民身份号码、统一社会信用代码或审核人员（officer:登录名）"
        ) from None


class Notifications:
    """Queue, read and count messages of one case store (thread-safe; share one instance)."""

    def __init__(
        self,
        database: Database,
        templates: Templates,
        config: NotificationConfig,
        audit: AuditLog | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.database = database
        self.templates = templates
        self.config = config
        self.audit = audit or AuditLog()
        self.clock = clock

    # -- queueing ---------------------------------------------------------------------------------

    def enqueue(
        self,
        session: Session,
        *,
        recipient: str,
        template: str,
        variables: dict[str, str],
        channels: Sequence[str] = ("inbox",),
        reference: str | None = None,
        actor: str = SYSTEM_ACTOR,
    ) -> str:
        """Queue one message in the caller's transaction; returns its id.

        Refuses (``NotificationError``) an unknown template or channel, variables that differ from
        the template's, a value that looks like personal data, and a text too long for a channel.
        """
        (message_id,) = self.enqueue_many(
            session,
            [NewMessage(recipient, template, variables, channels, reference, actor)],
        )
        return message_id

    def enqueue_many(self, session: Session, messages: Sequence[NewMessage]) -> list[str]:
        """Queue several messages in the caller's transaction; returns their ids, in order.

        Every message is checked as ``enqueue`` checks it before anything is written: one invalid
        message refuses the whole batch (``NotificationError``) and nothing is queued. Then one
        INSERT per table and one ``append_many`` on the audit chain, so a batch of a thousand offers
        pays for the chain's head lock once.
        """
        rendered = [self._render(message) for message in messages]
        if not rendered:
            return []
        now = self.clock()
        ids = [uuid.uuid4().hex for _ in rendered]
        insert_many(
            session,
            MESSAGES,
            [
                {
                    "id": message_id,
                    "recipient": who,
                    "template": message.template,
                    "variables": dict(message.variables),
                    "title": title,
                    "body": text,
                    "reference": message.reference,
                    "created_at": now,
                    "read_at": None,
                }
                for message_id, (message, who, title, text, _texts) in zip(ids, rendered, strict=True)
            ],
        )
        insert_many(
            session,
            DELIVERIES,
            [
                {
                    "message_id": message_id,
                    "channel": name,
                    "status": "queued",
                    "text": channel_text,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for message_id, (_message, _who, _title, _text, texts) in zip(ids, rendered, strict=True)
                for name, channel_text in texts.items()
            ],
        )
        self.audit.append_many(
            session,
            [
                AuditRecord(
                    actor=message.actor,
                    action="notification.queued",
                    target=message_id,
                    outcome="queued",
                    details={
                        "template": message.template,
                        "channels": list(texts),
                        "reference": message.reference,
                    },
                    at=now,
                )
                for message_id, (message, _who, _title, _text, texts) in zip(ids, rendered, strict=True)
            ],
        )
        return ids

    def _render(self, message: NewMessage) -> tuple[NewMessage, str, str, str, dict[str, str]]:
        """Check one message and render it: (the message, recipient, title, body, text per channel).
        Raises ``NotificationError`` naming what is wrong."""
        recipient, template, variables, channels, reference = (
            message.recipient,
            message.template,
            message.variables,
            message.channels,
            message.reference,
        )
        who = _recipient(recipient)
        found = self.templates.get(template)
        if found is None:
            raise NotificationError(f"通知模板 {template} 不存在")
        if isinstance(channels, str) or not channels:
            raise NotificationError("channels 应为渠道列表，至少一个，如 ['inbox', 'sms']")
        wanted = list(dict.fromkeys(channels))
        unknown = [name for name in wanted if name not in self.config.channels]
        if unknown:
            raise NotificationError(
                f"未知的通知渠道 {', '.join(map(str, unknown))}；可用：{', '.join(self.config.channels)}"
            )
        if not isinstance(variables, dict):
            raise NotificationError("variables 应为 变量名: 取值 的对象")
        missing = sorted(set(found.variables) - set(variables))
        extra = sorted(str(name) for name in set(variables) - set(found.variables))
        if missing or extra:
            parts = []
            if missing:
                parts.append(
                    "缺少变量 " + "、".join(f"{name}（{found.variables[name]}）" for name in missing)
                )
            if extra:
                parts.append("模板未声明的变量 " + "、".join(extra))
            raise NotificationError(f"通知模板 {template}：{'；'.join(parts)}")
        for name, value in variables.items():
            if not isinstance(value, str):
                raise NotificationError(f"通知模板 {template}：变量 {name} 的取值应为字符串")
            if not value.strip():
                raise NotificationError(f"通知模板 {template}：变量 {name}（{found.variables[name]}）为空")
            if len(value) > MAX_VARIABLE_CHARS:
                raise NotificationError(f"通知模板 {template}：变量 {name} 超过 {MAX_VARIABLE_CHARS} 字")
            kind = personal_data_in(value)
            if kind is not None:
                raise NotificationError(
                    f"通知模板 {template}：变量 {name} 的取值疑似包含{kind}；"
                    "通知不得携带身份证号、统一社会信用代码、手机号等个人信息（收件人已由渠道确定）"
                )
        if reference is not None and (not isinstance(reference, str) or not 0 < len(reference) <= 64):
            raise NotificationError("reference 应为 1–64 字的业务编号")
        if reference is not None and personal_data_in(reference) is not None:
            # The reference is kept in the audit log: a business number, never a person's identifier.
            raise NotificationError(f"reference 疑似包含{personal_data_in(reference)}；请使用业务编号")
        title, text, sms = found.render(variables)
        if len(title) > MAX_TITLE_CHARS:
            raise NotificationError(
                f"通知模板 {template}：标题 {len(title)} 字，超过上限 {MAX_TITLE_CHARS} 字"
            )
        texts = {name: sms if name == "sms" else text for name in wanted}
        for name in wanted:
            problem = self.config.channels[name].too_long(texts[name])
            if problem is not None:
                raise NotificationError(f"通知模板 {template}：{problem}")
        return message, who, title, text, texts

    # -- the recipient's inbox ----------------------------------------------------------------------

    def inbox(
        self, principal: Principal, *, unread_only: bool = False, limit: int = 50, offset: int = 0
    ) -> tuple[list[Message], int]:
        """The principal's own messages delivered to the inbox, newest first, and the unread count."""
        who = recipient_of(principal)
        if who is None:
            return [], 0
        query = (
            select(Message)
            .join(Delivery, Delivery.message_id == Message.id)
            .where(
                Message.recipient == who,
                Delivery.channel == "inbox",
                Delivery.status.in_(VISIBLE_IN_INBOX),
            )
        )
        with self.database.session() as session:
            unread = session.scalar(
                select(func.count()).select_from(query.where(Message.read_at.is_(None)).subquery())
            )
            if unread_only:
                query = query.where(Message.read_at.is_(None))
            rows = list(
                session.scalars(
                    query.order_by(Message.created_at.desc(), Message.id).offset(offset).limit(limit)
                )
            )
        return rows, int(unread or 0)

    def mark_read(self, principal: Principal, message_id: str) -> Message:
        who = recipient_of(principal)
        now = self.clock()
        with self.database.session() as session:
            message = session.get(Message, message_id)
            delivered = session.scalar(
                select(func.count()).where(
                    Delivery.message_id == message_id,
                    Delivery.channel == "inbox",
                    Delivery.status.in_(VISIBLE_IN_INBOX),
                )
            )
            if message is None or who is None or message.recipient != who or not delivered:
                raise LookupError(f"您的站内信中没有消息 {message_id}")
            if message.read_at is None:
                result = cast(
                    CursorResult[Any],
                    session.execute(
                        update(Message)
                        .where(Message.id == message_id, Message.read_at.is_(None))
                        .values(read_at=now)
                    ),
                )
                if result.rowcount == 1:
                    self.audit.append(
                        session,
                        actor=principal.actor,
                        action="notification.read",
                        target=message_id,
                        outcome="read",
                        at=now,
                    )
                session.refresh(message)
            return message

    # -- contacts ---------------------------------------------------------------------------------------

    def set_contact(self, principal: Principal, channel: str, address: str) -> str:
        """Where the principal receives ``channel``; returns the masked address."""
        who = recipient_of(principal)
        if who is None:
            raise PermissionError("该账户没有可接收通知的主体")
        form = CONTACT_FORMS.get(channel)
        if form is None:
            raise NotificationError(f"渠道 {channel} 无需登记联系方式；可登记：{', '.join(CONTACT_FORMS)}")
        address = address.strip()
        if not form.match(address):
            raise NotificationError(f"{CONTACT_NAMES[channel]}格式不正确")
        now = self.clock()
        with self.database.session() as session:
            session.execute(delete(Contact).where(Contact.recipient == who, Contact.channel == channel))
            session.execute(
                insert(Contact).values(recipient=who, channel=channel, address=address, updated_at=now)
            )
            self.audit.append(
                session,
                actor=principal.actor,
                action="notification.contact_set",
                target=principal.actor,
                outcome=channel,
                at=now,
            )
        return mask_identifier(address)

    def contacts(self, principal: Principal) -> dict[str, str]:
        """The principal's contacts, masked."""
        who = recipient_of(principal)
        with self.database.session() as session:
            rows = session.execute(select(Contact.channel, Contact.address).where(Contact.recipient == who))
            return {channel: mask_identifier(address) for channel, address in rows}

    # -- delivery receipts from gateways ------------------------------------------------------------

    def receipt(
        self, channel: str, token: str | None, gateway_id: str, status: str, reason: str | None = None
    ) -> Delivery:
        """A gateway reports what became of a message it accepted: ``delivered`` or ``failed``."""
        configured = self.config.channels.get(channel)
        if configured is None or configured.receipt_token is None:
            raise LookupError(f"渠道 {channel} 未启用送达回执")
        if token is None or not hmac.compare_digest(token.encode(), configured.receipt_token.encode()):
            raise PermissionError("回执令牌无效")
        if status not in ("delivered", "failed"):
            raise NotificationError("status 应为 delivered 或 failed")
        now = self.clock()
        with self.database.session() as session:
            delivery = session.scalars(
                select(Delivery).where(Delivery.channel == channel, Delivery.gateway_id == gateway_id)
            ).first()
            if delivery is None:
                raise LookupError(f"没有网关编号为 {gateway_id} 的{CHANNEL_NAMES[channel]}")
            if delivery.status == status:
                return delivery  # a repeated receipt
            if delivery.status != "sent":
                raise NotificationConflict(
                    f"该通知状态为{STATUS_LABELS[delivery.status]}，不能再改为{STATUS_LABELS[status]}"
                )
            values: dict[str, Any] = {"status": status}
            if status == "delivered":
                values["delivered_at"] = now
            else:
                values.update(failed_at=now, last_error=f"网关回执：{reason or '未送达'}"[:500])
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery.id, Delivery.status == "sent")
                    .values(**values)
                ),
            )
            if result.rowcount == 1:
                self.audit.append(
                    session,
                    actor=f"gateway:{channel}",
                    action=f"notification.{status}",
                    target=delivery.message_id,
                    outcome=status,
                    details={"channel": channel, "receipt": True},
                    at=now,
                )
            session.refresh(delivery)
            return delivery

    # -- figures for officers and operators -------------------------------------------------------

    @staticmethod
    def _officer(principal: Principal) -> None:
        if principal.kind != "officer":
            raise PermissionError("只有工作人员可以查看通知发送情况")

    def stats(self, principal: Principal) -> dict[str, dict[str, int]]:
        """Deliveries per channel and status, for staff."""
        self._officer(principal)
        return self.counts()

    def counts(self) -> dict[str, dict[str, int]]:
        """Deliveries per channel and status (every channel and status present, zero when none)."""
        counts = {channel: dict.fromkeys(STATUSES, 0) for channel in self.config.channels}
        with self.database.session() as session:
            rows = session.execute(
                select(Delivery.channel, Delivery.status, func.count()).group_by(
                    Delivery.channel, Delivery.status
                )
            )
            for channel, status, count in rows:
                counts.setdefault(channel, dict.fromkeys(STATUSES, 0))[status] = int(count)
        return counts

    def recorded(
        self, principal: Principal, *, channel: str | None = None, limit: int = 100
    ) -> list[Recorded]:
        """What the development gateways recorded instead of sending, newest first."""
        self._officer(principal)
        query = select(Recorded).order_by(Recorded.id.desc()).limit(limit)
        if channel is not None:
            query = query.where(Recorded.channel == channel)
        with self.database.session() as session:
            return list(session.scalars(query))

    def purge(self, before: dt.datetime, *, actor: str = SYSTEM_ACTOR, batch: int = 1000) -> int:
        """Delete messages queued before ``before`` whose every delivery has ended (sent, delivered or
        failed), with their deliveries and recordings; one audit entry per batch. Returns how many."""
        unfinished = select(Delivery.message_id).where(Delivery.status == "queued")
        removed = 0
        while True:
            with self.database.session() as session:
                ids = list(
                    session.scalars(
                        select(Message.id)
                        .where(Message.created_at < before, Message.id.not_in(unfinished))
                        .limit(batch)
                    )
                )
                if not ids:
                    return removed
                deliveries = select(Delivery.id).where(Delivery.message_id.in_(ids))
                session.execute(delete(Recorded).where(Recorded.delivery_id.in_(deliveries)))
                session.execute(delete(Delivery).where(Delivery.message_id.in_(ids)))
                session.execute(delete(Message).where(Message.id.in_(ids)))
                self.audit.append(
                    session,
                    actor=actor,
                    action="notification.purged",
                    target="notification_message",
                    outcome="purged",
                    details={"count": len(ids), "before": before.isoformat()},
                    at=self.clock(),
                )
                removed += len(ids)

    def deliveries(self, message_id: str) -> list[Delivery]:
        """Every channel's delivery of one message (for the caller that queued it, and for tests)."""
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(Delivery).where(Delivery.message_id == message_id).order_by(Delivery.id)
                )
            )
