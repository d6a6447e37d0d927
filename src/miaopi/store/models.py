"""Imports every concept's table modules so the metadata is complete (for Alembic)."""

import miaopi.audit.models
import miaopi.sharing.models  # noqa: F401
