"""Tables owned by authentication: accounts and their bearer tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Account(Base):
    """Someone who signs in: an applicant (a person or an enterprise, by its identifier) or an officer."""

    __tablename__ = "auth_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # applicant | officer
    login: Mapped[str] = mapped_column(String(64), unique=True)  # ID number, credit code, or officer username
    subject_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # applicants: who they are
    department: Mapped[str | None] = mapped_column(String(64), nullable=True)  # officers: where they work
    role: Mapped[str] = mapped_column(String(16))  # applicant | reviewer | supervisor
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Token(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "auth_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("auth_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
