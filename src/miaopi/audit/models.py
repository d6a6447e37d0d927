"""Tables owned by the audit log: the hash-chained entries and the one-row chain head."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base

GENESIS_HASH = "0" * 64
"""The previous hash of entry 1."""
# Entries whose actor the index by actor holds: staff's and the system's. An applicant's actions are
# found through their cases (the target); leaving them out spares every stored case an index page.
STAFF_AND_SYSTEM = text("actor NOT LIKE 'applicant:%'")


class AuditLogRecord(Base):
    """One state change: when, who, what, on which target, with which outcome — chained by hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_recorded_at", "recorded_at"),
        Index(
            "ix_audit_log_actor", "actor", sqlite_where=STAFF_AND_SYSTEM, postgresql_where=STAFF_AND_SYSTEM
        ),
        Index("ix_audit_log_target", "target"),
    )


class AuditHead(Base):
    """The chain's head (last sequence number and its hash), exactly one row with ``id = 1``.

    Every append updates this row in the appender's transaction, so appenders serialise on its row
    lock, the next sequence number needs no scan, and a deleted last entry is still detected.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
