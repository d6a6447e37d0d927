"""Tables owned by approval: each case (办件) with everything its decision rested on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Application(Base):
    __tablename__ = "approval_application"

    case_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(64), index=True)
    item_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64), index=True)
    version_hash: Mapped[str] = mapped_column(String(80))
    version_from: Mapped[dt.date] = mapped_column(Date)
    applicant: Mapped[str] = mapped_column(String(32))  # indexed first in uq_approval_application_idempotency
    applicant_kind: Mapped[str] = mapped_column(String(16))
    acting_person: Mapped[str | None] = mapped_column(String(32), nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(80))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), index=True)  # approved | rejected | review (current)
    automatic_status: Mapped[str] = mapped_column(String(16))  # what the pipeline answered, never changed
    machine_outcome: Mapped[str] = mapped_column(String(16))  # what the rules alone said
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Every fact the decision computed: {name: {"kind": binding|aggregate|derived|form|context, "value": …}}
    facts: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON)
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    materials_waived: Mapped[int] = mapped_column(Integer)
    commitments: Mapped[list[str]] = mapped_column(JSON)
    human_review_requested: Mapped[bool] = mapped_column(Boolean)  # at submission or afterwards
    review_requested_on_submission: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    decision_date: Mapped[dt.date] = mapped_column(Date)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    promised_deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    statutory_deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decision_micros: Mapped[int] = mapped_column(Integer)
    timings: Mapped[dict[str, int]] = mapped_column(JSON)
    # Manual review (人工审核): who holds the case, and the decision a person made.
    claimed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    review_legal_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Four-eyes items: the first reviewer's decision, waiting for a second reviewer to confirm.
    first_reviewer: Mapped[str | None] = mapped_column(String(80), nullable=True)
    first_decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Extension of the statutory limit (行政许可法 §42: +10 working days with the head's approval).
    extension_requested_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    extension_approved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        # Also the index of the applicant's cases (its first column).
        UniqueConstraint("applicant", "idempotency_key", name="uq_approval_application_idempotency"),
        # Only the rows that have a value: most cases have no acting person and no reviewer holding
        # them, and every index a new case enters costs its commit a page (migration 0016).
        *(
            Index(
                f"ix_approval_application_{column}",
                column,
                sqlite_where=text(where),
                postgresql_where=text(where),
            )
            for column, where in (
                ("acting_person", "acting_person IS NOT NULL"),
                ("claimed_by", "claimed_by IS NOT NULL"),
            )
        ),
    )


class CaseEvidence(Base):
    """What was read from one shared resource for the case: source, time, content hash, and the records."""

    __tablename__ = "approval_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    resource: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    read_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str] = mapped_column(String(80))
    rows: Mapped[int] = mapped_column(Integer)
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class CaseStep(Base):
    """One step of a case's public progress (阳光审批)."""

    __tablename__ = "approval_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))


class Upload(Base):
    """An uploaded material (上传材料), once per content: stored in the transaction of the case or the
    correction that first refers to it, so a case answered as stored has its materials too."""

    __tablename__ = "approval_upload"

    content_hash: Mapped[str] = mapped_column(String(80), primary_key=True)  # sha256:<hex>
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
