"""The indexes a migrated store has on a table, for tests of migrations that change them."""

from __future__ import annotations

from sqlalchemy import text

from miaopi.store import Database


def index_definitions(database: Database, table: str) -> dict[str, str]:
    """``table``'s indexes by name, with their definitions (SQLite's ``CREATE INDEX`` text, empty for
    the indexes of its constraints; PostgreSQL's ``pg_indexes.indexdef``)."""
    if database.dialect == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table"
    with database.engine.connect() as connection:
        return {
            name: definition or "" for name, definition in connection.execute(text(query), {"table": table})
        }
