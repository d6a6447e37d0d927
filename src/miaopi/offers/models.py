"""Tables owned by offers: offers (one per policy, subject and period), benefit records, each
period's budget row (also the lock that serialises budget changes) and each screening's figures.

Money is stored in fen (integer hundredths of a yuan), never as a float.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Offer(Base):
    """免申即享 offer: a screened, eligible subject is offered a policy's benefit for one period.

    Status: ``waiting`` (eligible, not yet offered: the budget is used up, see ``queue_key``) →
    ``made`` (offered, waiting for confirmation until ``expires_on``) → ``confirmed`` (a benefit record
    exists) / ``declined`` / ``expired``; a waiting subject no longer eligible at a later screening is
    ``withdrawn``.
    """

    __tablename__ = "offers_offer"
    __table_args__ = (
        UniqueConstraint("policy_id", "subject", "period", name="uq_offers_offer_policy_subject_period"),
        Index("ix_offers_offer_queue", "policy_id", "period", "status", "queue_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(32), index=True)
    period: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    version_hash: Mapped[str] = mapped_column(String(80))
    screened_on: Mapped[dt.date] = mapped_column(Date)  # the screening's as-of date
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # per rule: result, message, basis
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the screening read
    queue_key: Mapped[str] = mapped_column(String(255))  # budget order (docs/offers.md)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    made_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Benefit(Base):
    """A confirmed offer: who is paid, where, how much, for which period, and on what basis."""

    __tablename__ = "offers_benefit"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers_offer.id"), unique=True)
    policy_id: Mapped[str] = mapped_column(String(64), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    payee: Mapped[str] = mapped_column(String(32), index=True)  # subject id
    payee_name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # from the registry
    bank: Mapped[str] = mapped_column(String(100))
    account: Mapped[str] = mapped_column(String(40))  # personal data: shown masked only
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(16))
    version_hash: Mapped[str] = mapped_column(String(80))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    confirmed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # to_pay | paid
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    paid_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    payment_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OfferPeriod(Base):
    """One policy's period (e.g. 2026, 2026-Q4, 2026-11): its budget, and the row every change of
    the period's offers locks first, so budget decisions never interleave."""

    __tablename__ = "offers_period"

    policy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OfferScreening(Base):
    """The figures of each screening that offers were made from."""

    __tablename__ = "offers_screening"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[dt.date] = mapped_column(Date)
    version_hash: Mapped[str] = mapped_column(String(80))
    screened: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(Integer)
    ineligible: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    eligible_amount_fen: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(Integer)  # offers (made or waiting) this run created
    run_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    output: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_offers_screening_policy_period", "policy_id", "period"),)
