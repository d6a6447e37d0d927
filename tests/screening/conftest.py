"""A demo city shared by the screening tests, copies of it to change, and reading results back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from miaopi.catalog import DEMO_CATALOG, Catalog
from miaopi.city import generate_city
from miaopi.sharing import ResourceCatalogue, SharingExchange

Row = tuple[Any, ...]


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("screening-city") / "city"
    generate_city(out, scale="demo")
    return out


@pytest.fixture
def city(demo_city: Path, tmp_path: Path) -> Path:
    """A copy of the demo city that a test may change."""
    copy = tmp_path / "city"
    shutil.copytree(demo_city, copy)
    return copy


def open_city(city: Path) -> tuple[Catalog, SharingExchange]:
    resources = ResourceCatalogue.load(city / "resources.yaml")
    catalog = Catalog.load(DEMO_CATALOG, resources)
    return catalog, SharingExchange(resources, catalog.grants)


def resource_file(city: Path, code: str) -> Path:
    path = ResourceCatalogue.load(city / "resources.yaml").resource(code).path
    assert path is not None
    return path


def rewrite(path: Path, select: str) -> None:
    """Replace a Parquet file by ``select`` over its rows (the rows are in a view called ``rows``)."""
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE rows AS SELECT * FROM read_parquet('{path}')")
    connection.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")


def keys(path: Path, column: str, where: str, limit: int) -> list[str]:
    """Some keys of the rows matching ``where`` (deterministic)."""
    query = f"SELECT DISTINCT {column} FROM read_parquet('{path}') WHERE {where} ORDER BY 1 LIMIT {limit}"
    return [row[0] for row in duckdb.connect().execute(query).fetchall()]


def in_list(values: list[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def results(path: Path) -> dict[tuple[str, str], Row]:
    """(policy, subject) → (version, status, amount, rules, missing facts)."""
    rows = (
        duckdb.connect()
        .execute(
            "SELECT policy_id, subject, version_hash, status, amount, rules, missing_facts "
            f"FROM read_parquet('{path}')"
        )
        .fetchall()
    )
    table = {(row[0], row[1]): row[2:] for row in rows}
    assert len(table) == len(rows), "a (policy, subject) pair appears twice"
    return table


def ordered(path: Path) -> list[tuple[str, str]]:
    return [
        (row[0], row[1])
        for row in duckdb.connect().execute(f"SELECT policy_id, subject FROM '{path}'").fetchall()
    ]


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One small local Spark for the whole session (starting Spark takes seconds)."""
    from miaopi.screening.spark_engine import spark_session

    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2", "spark.driver.memory": "1g"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
