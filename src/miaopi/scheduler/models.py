"""Tables owned by the scheduler: durable jobs, and what each open case's jobs were planned from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Job(Base):
    """One job: ``kind`` on ``target`` (a case number) at ``due_at`` (UTC).

    (kind, target, due_key) is unique, so planning the same job twice never duplicates it; a new
    deadline is a new due key. ``state``: pending → running (claimed under a lease) → done, or back
    to pending with a later ``due_at`` after a failure, and failed after the last attempt; cancelled
    when the case no longer needs it.
    """

    __tablename__ = "scheduler_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # reminder | escalation | deemed_approval
    target: Mapped[str] = mapped_column(String(64))
    due_key: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # pending | running | done | cancelled | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)  # what the job did (or why nothing)
    lease_owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("kind", "target", "due_key", name="uq_scheduler_job_key"),
        Index("ix_scheduler_job_state_due_at", "state", "due_at"),
        # Planning cancels a case's pending jobs (target AND state): with the target alone indexed,
        # SQLite chose the state index and scanned every pending job of every case.
        Index("ix_scheduler_job_target_state", "target", "state"),
    )


class CasePlan(Base):
    """The case state an open case's jobs were planned from; a case whose status or statutory
    deadline differs is planned again (so no path that changes a case can leave stale jobs)."""

    __tablename__ = "scheduler_case_plan"

    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    statutory_deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    planned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
