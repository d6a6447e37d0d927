"""Tables owned by notifications: the outbox (messages and their per-channel deliveries), contacts,
and what the development gateways recorded instead of sending."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Message(Base):
    """One message to one recipient, rendered from a template when it was queued (the outbox row).

    ``recipient`` is a subject id (citizen ID number or credit code) or an officer actor
    (``officer:<login>``): stored so the recipient can read their inbox, never written to a log.
    """

    __tablename__ = "notification_message"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(96), index=True)
    template: Mapped[str] = mapped_column(String(64), index=True)
    variables: Mapped[dict[str, str]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """A message on one channel: queued → sent → delivered, or failed with the reason.

    The dispatcher claims a due delivery by setting ``lease_token`` and ``lease_until`` in one
    conditional UPDATE, so two dispatchers never hold the same delivery at once.
    """

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "channel", name="uq_notification_delivery_message_channel"),
        Index("ix_notification_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("notification_message.id"))
    channel: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | sent | delivered | failed
    text: Mapped[str] = mapped_column(Text)  # what this channel carries (SMS: the short form)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    gateway_id: Mapped[str | None] = mapped_column(String(96), nullable=True, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Contact(Base):
    """Where a recipient receives a channel: a mobile number (sms), an OpenID (wechat), an address
    (email). Personal data: read only to send, shown masked."""

    __tablename__ = "notification_contact"

    recipient: Mapped[str] = mapped_column(String(96), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Recorded(Base):
    """What a development gateway would have sent (no real SMS, WeChat or mail leaves the machine):
    the channel, the masked address and the text, for officers and operators to inspect."""

    __tablename__ = "notification_recorded"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_delivery.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    address: Mapped[str] = mapped_column(String(254))  # masked
    text: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
