"""Shared fixtures: the case store on SQLite and, when reachable, PostgreSQL.

Production-path tests (PostgreSQL, NATS) run whenever those servers answer; elsewhere they are
skipped and the run's header says so plainly. ``.ci/run`` refuses to start when they do not answer,
so CI always runs them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from miaopi.store import Database

POSTGRES_URL = os.environ.get(
    "MIAOPI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS_ADDRESS = os.environ.get("MIAOPI_TEST_NATS", "127.0.0.1:4222")


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except Exception:
        return False


def _nats_reachable() -> bool:
    host, port = NATS_ADDRESS.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


POSTGRES = _postgres_reachable()
NATS = _nats_reachable()


def pytest_report_header() -> list[str]:
    lines = []
    lines.append(
        f"PostgreSQL {POSTGRES_URL.split('@')[-1]}: "
        + ("reachable — production-path tests run" if POSTGRES else "NOT reachable — its tests are SKIPPED")
    )
    lines.append(
        f"NATS {NATS_ADDRESS}: "
        + ("reachable — its tests run" if NATS else "NOT reachable — its tests are SKIPPED")
    )
    return lines


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and not POSTGRES:
            item.add_marker(
                pytest.mark.skip(reason=f"PostgreSQL at {POSTGRES_URL.split('@')[-1]} not reachable")
            )
        if "nats" in item.keywords and not NATS:
            item.add_marker(pytest.mark.skip(reason=f"NATS at {NATS_ADDRESS} not reachable"))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards."""
    if not POSTGRES:
        pytest.skip("PostgreSQL not reachable")
    from sqlalchemy import create_engine, text

    name = f"miaopi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated, empty case store on each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'miaopi.db'}"
        Database(url).migrate()
        yield url
        return
    from sqlalchemy import text

    server = request.getfixturevalue("postgres_server_url")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    setup = Database(server)
    with setup.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    setup.dispose()
    url = f"{server}?options=-csearch_path%3D{schema}"
    Database(url).migrate()
    yield url
    cleanup = Database(server)
    with cleanup.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    cleanup.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty case store on each backend."""
    db = Database(database_url)
    yield db
    db.dispose()
