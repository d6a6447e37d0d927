"""Migration 0018: the audit log's index by actor holds staff's and the system's entries only — an
applicant's entry, one per stored case, would cost every commit a page of it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from miaopi.store import Database
from tests.indexes import index_definitions

BY_ACTOR = "SELECT seq FROM audit_log WHERE actor = :who AND actor NOT LIKE 'applicant:%'"


def _actor_index(database: Database) -> str:
    return index_definitions(database, "audit_log")["ix_audit_log_actor"]


def test_applicants_entries_are_left_out_of_the_actor_index(database: Database) -> None:
    definition = _actor_index(database)
    assert "WHERE" in definition and "applicant:%" in definition  # PostgreSQL shows NOT LIKE as !~~


def test_downgrade_restores_the_full_index(database: Database) -> None:
    command.downgrade(database.alembic_config(), "0017")
    assert "WHERE" not in _actor_index(database)
    command.upgrade(database.alembic_config(), "head")
    assert "WHERE" in _actor_index(database)


def test_what_an_officer_did_is_found_through_the_index(tmp_path: Path) -> None:
    """The query names the index's condition, so the planner may use it (SQLite and PostgreSQL do
    not infer it from ``actor = …``)."""
    database = Database(f"sqlite:///{tmp_path}/plans.db")
    database.migrate()
    with database.engine.connect() as connection:
        plan = " ".join(
            row[-1]
            for row in connection.execute(text(f"EXPLAIN QUERY PLAN {BY_ACTOR}"), {"who": "officer:li"})
        )
    assert "ix_audit_log_actor" in plan and "SCAN audit_log" not in plan, plan
    database.dispose()
