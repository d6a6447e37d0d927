"""The case store: SQLAlchemy 2 over SQLite (WAL, embedded default) or PostgreSQL (production).

Each concept owns its tables (``miaopi.sharing.models`` …) on the shared ``Base`` metadata; the
schema is created and changed only through Alembic migrations (``miaopi.store.migrations``).
"""

from miaopi.store.base import Base
from miaopi.store.database import Database

__all__ = ["Base", "Database"]
