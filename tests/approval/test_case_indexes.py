"""Migration 0016: the case table keeps the indexes its queries use, and no more — every index a new
case enters costs its commit a page."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from miaopi.store import Database
from tests.indexes import index_definitions


def _indexes(database: Database) -> dict[str, str]:
    """The case table's indexes by name, with their definitions."""
    return index_definitions(database, "approval_application")


def test_only_cases_with_a_value_enter_the_acting_person_and_reviewer_indexes(database: Database) -> None:
    indexes = _indexes(database)
    assert "ix_approval_application_applicant" not in indexes  # the unique index leads with applicant
    for column in ("acting_person", "claimed_by"):
        definition = indexes[f"ix_approval_application_{column}"]
        assert "WHERE" in definition and f"{column} IS NOT NULL" in definition


def test_downgrade_restores_the_full_indexes(database: Database) -> None:
    command.downgrade(database.alembic_config(), "0015")
    indexes = _indexes(database)
    assert "ix_approval_application_applicant" in indexes
    assert all(
        "WHERE" not in indexes[f"ix_approval_application_{column}"]
        for column in ("acting_person", "claimed_by")
    )
    command.upgrade(database.alembic_config(), "head")
    assert "ix_approval_application_applicant" not in _indexes(database)


def test_the_queries_by_applicant_agent_and_reviewer_still_use_an_index(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/plans.db")
    database.migrate()
    queries = {
        # an applicant's own cases, and those an agent filed for an enterprise (GET /applications)
        "SELECT case_no FROM approval_application WHERE applicant = :who OR acting_person = :who": (
            "MULTI-INDEX OR",
            "(applicant=?)",  # the unique index's (SQLite names it sqlite_autoindex_…)
            "ix_approval_application_acting_person",
        ),
        # the cases a reviewer holds (the review queue)
        "SELECT case_no FROM approval_application WHERE claimed_by = :who": (
            "ix_approval_application_claimed_by",
        ),
        # a repeated idempotency key
        "SELECT case_no FROM approval_application WHERE applicant = :who AND idempotency_key = :key": (
            "(applicant=? AND idempotency_key=?)",
        ),
    }
    with database.engine.connect() as connection:
        for query, expected in queries.items():
            plan = " ".join(
                row[-1]
                for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}"), {"who": "x", "key": "k"})
            )
            assert "SCAN approval_application" not in plan, (query, plan)
            for part in expected:
                assert part in plan, (query, plan)
    database.dispose()
