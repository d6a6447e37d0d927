"""Helpers for audit tests: filling a chain and tampering with it the way a privileged insider could."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from miaopi.audit import AuditEntry, AuditLog
from miaopi.store import Database

START = dt.datetime(2026, 11, 23, 1, 2, 3, 4, tzinfo=dt.UTC)


@pytest.fixture
def audit() -> AuditLog:
    return AuditLog()


def fill(database: Database, audit: AuditLog, count: int) -> list[AuditEntry]:
    """``count`` entries, one transaction each, about cases SZ-0001 … with alternating outcomes."""
    entries = []
    for index in range(count):
        with database.session() as session:
            entries.append(
                audit.append(
                    session,
                    actor="system" if index % 2 else f"officer:zhang{index}",
                    action="application.decided",
                    target=f"SZ-{index + 1:04d}",
                    outcome="approved" if index % 3 else "rejected",
                    details={"事项": "老年人优待证", "规则版本": f"v{index}", "amount": index * 1.5},
                    at=START + dt.timedelta(seconds=index),
                )
            )
    return entries


def tamper(database: Database, *statements: str) -> None:
    """Run raw SQL against the audit tables with their append-only triggers out of the way."""
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
        else:
            for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_head_keep"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            connection.execute(text(statement))
        if database.dialect == "postgresql":
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_head ENABLE TRIGGER USER"))
