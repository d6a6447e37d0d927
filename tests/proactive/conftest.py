"""Proactive cases are tested in the events tests' world: the demo catalogue and city, served over
real HTTP, on SQLite and PostgreSQL."""

from tests.events.conftest import world

__all__ = ["world"]
