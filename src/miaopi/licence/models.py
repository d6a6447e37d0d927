"""Tables owned by licences: each issued licence, the counters its serial and status index come from,
and each use of a licence as evidence (免提交)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class IssuedLicence(Base):
    """A licence Miaopi issued: the signed credential as issued, and its current status."""

    __tablename__ = "licence_issued"

    identifier: Mapped[str] = mapped_column(String(120), primary_key=True)  # GB/T 36904 证照标识
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    type_name: Mapped[str] = mapped_column(String(100), index=True)
    type_code: Mapped[str] = mapped_column(String(40))
    issuer_code: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(64), index=True)  # its officers revoke and suspend
    holder: Mapped[str] = mapped_column(String(32), index=True)  # citizen ID number or credit code
    holder_kind: Mapped[str] = mapped_column(String(16))
    serial: Mapped[int] = mapped_column(Integer)
    list_no: Mapped[int] = mapped_column(Integer)  # the issuer's status list number (1, 2 …)
    status_index: Mapped[int] = mapped_column(Integer)  # its bit in that list (revocation and suspension)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # valid | suspended | revoked
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status_changed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(300))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("issuer_code", "list_no", "status_index", name="uq_licence_issued_status_entry"),
    )


class LicenceCounter(Base):
    """A counter row (serials of one type and issuer; status positions of one issuer), advanced in the
    transaction that stores the licences it numbers."""

    __tablename__ = "licence_counter"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class LicenceUse(Base):
    """A licence that satisfied a material of a case (免提交): Miaopi's own or one held in the shared
    licence library."""

    __tablename__ = "licence_use"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("approval_application.case_no"), index=True)
    material: Mapped[str] = mapped_column(String(100))
    type_name: Mapped[str] = mapped_column(String(100), index=True)
    licence: Mapped[str] = mapped_column(String(120))  # identifier (own) or licence number (shared)
    source: Mapped[str] = mapped_column(String(16))  # miaopi | shared
    used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
