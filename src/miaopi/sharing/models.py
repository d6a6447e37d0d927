"""Tables owned by data sharing: the access log and its counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class AccessLogEntry(Base):
    """One read of shared data: who (department), why (purpose), for which case and subject, what."""

    __tablename__ = "sharing_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    read_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    department: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(128))
    case_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resource: Mapped[str] = mapped_column(String(128))
    fields: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_sharing_access_log_read_at", "read_at"),
        Index("ix_sharing_access_log_subject", "subject"),
    )


class AccessCount(Base):
    """How many reads of shared data the log holds, per department and resource — kept up to date in
    the transaction that logs them, so that counting is a read of a few rows, not a pass over the log
    (or an index of the log per count, which every read would enter)."""

    __tablename__ = "sharing_access_count"

    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(128), primary_key=True)
    reads: Mapped[int] = mapped_column(BigInteger)
