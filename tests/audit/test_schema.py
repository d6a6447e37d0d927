"""The migrated schema equals the models' metadata on every backend (guards every future migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import miaopi.store.models  # noqa: F401  (registers every concept's tables)
from miaopi.store import Base, Database


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"migrations and models differ on {database.dialect}: {differences}"


def test_audit_tables_are_in_the_metadata() -> None:
    assert {"audit_log", "audit_head"} <= set(Base.metadata.tables)
