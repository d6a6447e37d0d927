"""Screening writes every screened subject with status, amount and per-rule results; subjects with
missing facts are listed apart with the facts named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from miaopi.catalog import Catalog
from miaopi.screening import ScreeningError, screen
from miaopi.sharing import ResourceCatalogue, SharingExchange
from tests.catalog.conftest import write_test_catalog
from tests.sharing.conftest import ALICE, BOB, write_catalogue

CAROL = "11010219840406970X"
AS_OF = dt.date(2026, 11, 22)


@pytest.fixture
def world(tmp_path: Path) -> tuple[Catalog, SharingExchange]:
    city = tmp_path / "city"
    write_catalogue(city)
    pq.write_table(
        pa.table(
            {
                "id_number": [CAROL, ALICE, BOB],
                "name": ["陈", "王芳", "李四"],
                "birth_date": pa.array([None, dt.date(1949, 12, 31), dt.date(1880, 1, 1)], pa.date32()),
                "hukou_city": ["310000", "310000", "440300"],
            }
        ),
        city / "population" / "person.parquet",
    )
    resources = ResourceCatalogue.load(city / "resources.yaml")
    catalog = Catalog.load(write_test_catalog(tmp_path / "catalog"), resources)
    return catalog, SharingExchange(resources, catalog.grants)


def test_screen_writes_status_amounts_rules_and_missing_facts(
    world: tuple[Catalog, SharingExchange], tmp_path: Path
) -> None:
    catalog, exchange = world
    output = tmp_path / "out" / "screening.parquet"
    run = screen(catalog, exchange, AS_OF, output, ["elderly"])
    (figures,) = run.figures
    assert (figures.screened, figures.eligible, figures.ineligible, figures.unknown) == (3, 1, 1, 1)
    assert figures.total_amount == 150.0
    rows = {
        row[0]: row[1:]
        for row in duckdb.connect()
        .execute(f"SELECT subject, status, amount, rules, missing_facts FROM read_parquet('{output}')")
        .fetchall()
    }
    status, amount, rules, missing = rows[ALICE]
    assert (status, amount, missing) == ("eligible", 150.0, None)
    assert json.loads(rules) == {"hukou": "pass", "age": "pass"}
    assert rows[BOB][0] == "ineligible" and rows[BOB][1] is None
    assert json.loads(rows[BOB][2])["hukou"] == "fail"
    assert rows[CAROL][0] == "unknown" and rows[CAROL][3] == "person.birth_date"
    reads = exchange.access_log.pending()
    assert {(read.purpose, read.resource) for read in reads} == {("policy:elderly", "population.person")}


def test_unknown_policy_and_engine_are_clear_errors(
    world: tuple[Catalog, SharingExchange], tmp_path: Path
) -> None:
    catalog, exchange = world
    with pytest.raises(ScreeningError, match="没有政策 nope；现有：elderly"):
        screen(catalog, exchange, AS_OF, tmp_path / "x.parquet", ["nope"])
    with pytest.raises(ScreeningError, match="未知引擎“presto”，可选：duckdb、spark"):
        screen(catalog, exchange, AS_OF, tmp_path / "x.parquet", [], engine="presto")
    with pytest.raises(ScreeningError, match=r"增量筛查.*只支持 duckdb"):
        screen(catalog, exchange, AS_OF, tmp_path / "x.parquet", [], engine="spark", previous=tmp_path / "x")
