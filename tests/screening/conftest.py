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


VARIANT = "shanghai-elderly-allowance-80"
VARIANT_CASES = """cases:
  - {name: 85周岁180元, date: 2026-11-22, facts: {person.hukou_city: "310000", person.birth_date: 1941-01-01},
     expect: {outcome: eligible, amount: 180}}
  - {name: 75周岁不享受, date: 2026-11-22, facts: {person.hukou_city: "310000", person.birth_date: 1951-01-01},
     expect: {outcome: ineligible, failed: [age]}}
  - {name: 缺出生日期, date: 2026-11-22, facts: {person.hukou_city: "310000"},
     expect: {outcome: unknown, unknown: [person.birth_date]}}
"""


def open_city(city: Path) -> tuple[Catalog, SharingExchange]:
    """The demo catalogue over ``city``, plus a second policy for people (so that one kind of subject
    has several policies), kept beside the city."""
    catalogue = city.parent / "catalog"
    if not catalogue.exists():
        shutil.copytree(DEMO_CATALOG, catalogue)
        elderly = (catalogue / "policies" / "shanghai-elderly-allowance.yaml").read_text(encoding="utf-8")
        variant = elderly.replace("id: shanghai-elderly-allowance", f"id: {VARIANT}").replace(
            "name: 上海市老年综合津贴", "name: 上海市高龄津贴（测试用变体：80周岁起）"
        )
        variant = variant.replace("when: person.age_this_month >= 65", "when: person.age_this_month >= 80")
        (catalogue / "policies" / f"{VARIANT}.yaml").write_text(
            variant.split("\ncases:")[0] + "\n" + VARIANT_CASES, encoding="utf-8"
        )
        with (catalogue / "grants.yaml").open("a", encoding="utf-8") as grants:
            grants.write(
                f'  - {{department: civil_affairs, purpose: "policy:{VARIANT}", resource: population.person, '
                "fields: [birth_date, hukou_city, death_date]}\n"
            )
    resources = ResourceCatalogue.load(city / "resources.yaml")
    catalog = Catalog.load(catalogue, resources)
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
