"""Tables owned by events: every event received, stored once per (source, event id)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from miaopi.store.base import Base


class Event(Base):
    """One event from a department (registration change, life event) or from the platform's scans.

    ``(source, event_id)`` is unique: a repeated delivery (NATS redelivery, an HTTP retry, the next
    day's scan) is acknowledged and ignored.
    """

    __tablename__ = "events_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))  # the sending department
    event_id: Mapped[str] = mapped_column(String(128))  # the sender's id of the event
    type: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(32), index=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(8))  # http | nats | scan
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # What the triggers made of it: [{trigger, outcome, case?}] (triggered, not_triggered, unknown, duplicate)
    outcome: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_events_event_source"),)
