"""Tables owned by review: satisfaction ratings (好差评) and their follow-ups."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Rating(Base):
    """The applicant's rating of a closed case; one per case. A poor grade opens a follow-up that
    the department must close within 15 working days."""

    __tablename__ = "review_rating"

    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    grade: Mapped[int] = mapped_column(Integer)  # 5 非常满意 … 1 非常不满意
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    follow_up_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    follow_up_closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    follow_up_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    follow_up_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Correction(Base):
    """补正 (行政许可法 §32): everything missing or wrong, told at once; the applicant's corrected
    submission, and the automatic checks re-run on it."""

    __tablename__ = "review_correction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    items: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submission: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    recheck: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)


class SpecialProcedure(Base):
    """特殊程序 (行政许可法 §45): a hearing, tender, auction, inspection, testing, quarantine, appraisal
    or expert review. The case's clock stops from the day it starts to the day it ends."""

    __tablename__ = "review_special_procedure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # 听证 招标 拍卖 检验 检测 检疫 鉴定 专家评审
    reason: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeadlineAlert(Base):
    """A deadline alert raised by the scheduler: a reminder before the statutory deadline (to the
    claimant, or the department when unclaimed) or an escalation of an overdue case to the
    department's head (督办)."""

    __tablename__ = "review_deadline_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder | escalation
    deadline: Mapped[dt.date] = mapped_column(Date)
    addressed_to: Mapped[str] = mapped_column(String(80))  # officer:<login> | department | supervisor
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
