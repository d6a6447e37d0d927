"""免申即享 offers at district scale: ``OfferService.make`` for both demo policies on SQLite.

* 稳岗返还 (budget ¥20 M, year): screening, the budget order (priority keys through the same
  compiled population query), one offer per eligible enterprise (made while the budget lasts, the rest
  waiting), a message per offer made, audit entries — then the same run again (idempotent: nothing new);
* 老年综合津贴 (no budget, month): every eligible person offered, each with its message.

Baselines in the same run: the screening alone (``miaopi.screening.screen`` for the same policy and
date), and a bare bulk INSERT of as many rows into a table of the offers' shape (the floor of storing
them at all).

    .venv/bin/python bench/bench_offers.py [--city DIR] [--scale district]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import JSON, BigInteger, Column, Date, MetaData, String, Table, insert

from miaopi.catalog import DEMO_CATALOG
from miaopi.city import generate_city
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.screening import screen
from miaopi.store import Database

AS_OF = dt.date(2026, 11, 23)
REFUND = "ui-job-retention-refund"
ALLOWANCE = "shanghai-elderly-allowance"


def prepare(city: Path) -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="miaopi-bench-offers-"))
    (data_dir / "city").symlink_to(city.resolve())
    shutil.copytree(DEMO_CATALOG, data_dir / "catalog")
    Database(load_settings(data_dir).database_url).migrate()
    (data_dir / "miaopi.json").write_text(
        json.dumps({"version": "bench", "city_scale": "bench"}), encoding="utf-8"
    )
    return data_dir


def timed(action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def bare_insert(database: Database, rows: int) -> float:
    table = Table(
        "bench_offer_rows",
        MetaData(),
        Column("id", String(32), primary_key=True),
        Column("subject", String(32)),
        Column("period", String(16)),
        Column("amount_fen", BigInteger),
        Column("screened_on", Date),
        Column("explanation", JSON),
    )
    table.create(database.engine)
    values = [
        {
            "id": f"B{number:015d}",
            "subject": f"{number:018d}",
            "period": "2026-11",
            "amount_fen": 15000,
            "screened_on": AS_OF,
            "explanation": [{"rule": "age", "result": "pass"}],
        }
        for number in range(rows)
    ]
    start = time.perf_counter()
    with database.engine.begin() as connection:
        for first in range(0, rows, 2000):
            connection.execute(insert(table), values[first : first + 2000])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--city", type=Path, help="an existing synthetic city (resources.yaml and Parquet)")
    parser.add_argument("--scale", default="district", help="city scale to generate when --city is not given")
    arguments = parser.parse_args()
    city = arguments.city
    if city is None:
        city = Path(tempfile.mkdtemp(prefix="miaopi-bench-offers-city-"))
        print(f"generating a {arguments.scale} city in {city} …", flush=True)
        generate_city(city, scale=arguments.scale, seed=20261122)
    data_dir = prepare(city)
    deployment = Deployment.open(load_settings(data_dir), today=lambda: AS_OF)
    try:
        for policy, period in ((REFUND, "2026"), (ALLOWANCE, "2026-11")):
            _run, screening_alone = timed(
                lambda policy=policy: screen(
                    deployment.catalog, deployment.exchange, AS_OF, data_dir / "baseline.parquet", [policy]
                )
            )
            result, seconds = timed(
                lambda policy=policy, period=period: deployment.offers.make(policy, period=period)
            )
            print(
                f"{policy} {period}: screened {result.screened:,}, eligible {result.eligible:,}; "
                f"offers created {result.created:,} (made {result.made:,}, waiting {result.waiting:,}) "
                f"in {seconds:.1f} s = {result.created / seconds:,.0f} offers/s; "
                f"screening alone {screening_alone:.1f} s",
                flush=True,
            )
            again, seconds_again = timed(
                lambda policy=policy, period=period: deployment.offers.make(policy, period=period)
            )
            assert again.created == 0 and again.made == 0
            print(f"  again (idempotent, nothing new): {seconds_again:.1f} s", flush=True)
            floor = bare_insert(deployment.database, result.created) if policy == ALLOWANCE else None
            if floor is not None:
                print(f"  baseline: bare bulk INSERT of {result.created:,} rows {floor:.2f} s", flush=True)
    finally:
        deployment.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
