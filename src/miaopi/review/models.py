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
