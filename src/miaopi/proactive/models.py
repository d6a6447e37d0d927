"""Tables owned by proactive cases (无感审批 / 服务跟踪): each case pushed to a subject, its steps,
and the courier record of a physical certificate exchange."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base

OPEN = ("notified", "viewed", "verified")  # waiting for the subject: reminded, declined or expired
UNFINISHED = ("detected", *OPEN, "confirmed")  # not yet decided: what the subject's death ends


class ProactiveCase(Base):
    """A case prepared from an event and shared data, waiting for (or done with) the subject.

    detected → notified → viewed → verified → confirmed → decided → delivered; or declined, expired,
    or ended (the subject died before a decision: ``Detector`` on ``person.died``).
    ``case_key`` (trigger, subject, occasion) is unique: a second event about the same occasion never
    opens a second case.
    """

    __tablename__ = "proactive_case"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_key: Mapped[str] = mapped_column(String(300), unique=True)
    trigger_id: Mapped[str] = mapped_column(String(128), index=True)
    event_row: Mapped[int] = mapped_column(ForeignKey("events_event.id"), index=True)
    target_kind: Mapped[str] = mapped_column(String(8))  # item | policy
    target: Mapped[str] = mapped_column(String(64))
    target_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(32), index=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str | None] = mapped_column(
        String(32), nullable=True, index=True
    )  # who acts and is verified
    status: Mapped[str] = mapped_column(String(16), index=True)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)  # pre-filled from facts
    form_fields: Mapped[int] = mapped_column(Integer)  # form fields the subject did not fill in
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    materials_waived: Mapped[int] = mapped_column(Integer)  # materials the subject did not provide
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the trigger read, with values
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # resource, source, content hash
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)  # policy targets
    replaced_licence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    successor_licence: Mapped[str | None] = mapped_column(String(120), nullable=True)
    interactions: Mapped[int] = mapped_column(Integer, default=0)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    viewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    case_no: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # the 秒批 case
    benefit: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the offer, for policies
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # approved | rejected | review
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProactiveStep(Base):
    __tablename__ = "proactive_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("proactive_case.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))


class CourierRecord(Base):
    """The free government courier (免费政务快递): the old certificate collected, the new one delivered."""

    __tablename__ = "proactive_courier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("proactive_case.id"), unique=True)
    old_licence: Mapped[str | None] = mapped_column(String(120), nullable=True)
    new_licence: Mapped[str | None] = mapped_column(String(120), nullable=True)
    collect_status: Mapped[str] = mapped_column(String(16))  # scheduled | collected
    deliver_status: Mapped[str] = mapped_column(String(16))  # scheduled | delivered
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
