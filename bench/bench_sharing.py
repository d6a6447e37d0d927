"""One-subject lookup: all granted facts about one person from 5 resources at district scale.

The sharing exchange answers from an in-memory index over each key-sorted Parquet file (built once
at start-up), with evidence (content hash) and an access-log record per resource. The baseline,
measured in the same run, is DuckDB answering one keyed query over one of those files.

    .venv/bin/python bench/bench_sharing.py [--scale district] [--city DIR] [--lookups 20000]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from miaopi.city import generate_city
from miaopi.sharing import Grant, GrantRegistry, ResourceCatalogue, SharingExchange

REQUESTS = {
    "population.person": ("birth_date", "hukou_city", "death_date"),
    "population.residence_permit": ("city", "valid_from", "valid_to"),
    "traffic.driving_licence": ("licence_class", "first_issue_date", "status"),
    "traffic.penalty_points": ("period_end", "points"),
    "police.criminal_record": ("category", "record_date"),
}
PURPOSE = "item:bench-ride-hailing"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="district")
    parser.add_argument("--city", type=Path, help="an existing city folder (else one is generated)")
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    city = args.city or Path(tempfile.mkdtemp(prefix="miaopi-bench-")) / args.scale
    if not (city / "resources.yaml").exists():
        print(f"generating a {args.scale} city in {city} …", file=sys.stderr)
        generate_city(city, scale=args.scale)
    catalogue = ResourceCatalogue.load(city / "resources.yaml")
    grants = GrantRegistry(
        catalogue, [Grant("transport", PURPOSE, code, frozenset(fields)) for code, fields in REQUESTS.items()]
    )
    exchange = SharingExchange(catalogue, grants)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    exchange.warm(REQUESTS)
    warm_seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    people_path = catalogue.resource("population.person").path
    assert people_path is not None
    people = pq.read_table(people_path, columns=["id_number"]).column(0).to_pylist()
    rng = random.Random(7)
    subjects = [rng.choice(people) for _ in range(args.lookups)]

    timings = []
    for subject in subjects:
        began = time.perf_counter_ns()
        exchange.read_subject(department="transport", purpose=PURPOSE, subject=subject, requests=REQUESTS)
        timings.append((time.perf_counter_ns() - began) / 1000)
        if len(exchange.access_log.pending()) > 50_000:
            exchange.access_log.take()

    connection = duckdb.connect()
    path = str(catalogue.resource("traffic.penalty_points").path)
    statement = f"SELECT period_end, points FROM read_parquet('{path}') WHERE id_number = ?"
    baseline = []
    for subject in subjects[:300]:
        began = time.perf_counter_ns()
        connection.execute(statement, [subject]).fetchall()
        baseline.append((time.perf_counter_ns() - began) / 1000)

    median, p99 = statistics.median(timings), percentile(timings, 0.99)
    duck = statistics.median(baseline)
    print(
        f"one-subject lookup, {len(REQUESTS)} resources, {len(people):,} people ({args.scale}), {args.lookups:,} lookups"
    )
    print(
        f"  index build (once, at start-up)   {warm_seconds:8.2f} s   +{(rss_after - rss_before) / 1024:,.0f} MiB RSS"
    )
    print(
        f"  miaopi exchange, 5 resources      median {median:8.1f} µs   p99 {p99:8.1f} µs   (target median < 1000 µs)"
    )
    print(
        f"  DuckDB, one keyed query, 1 resource  median {duck:8.1f} µs   p99 {percentile(baseline, 0.99):8.1f} µs"
    )
    print(f"  ratio: DuckDB for 1 resource / miaopi for 5 = {duck / median:.1f}×")


if __name__ == "__main__":
    main()
