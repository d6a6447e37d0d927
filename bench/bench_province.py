"""Screening a synthetic city streamed from Parquet: wall time and peak memory, per scale.

Each run is a child process, so its peak RSS (ru_maxrss from wait4: Python, Arrow and DuckDB
together) is its own. Per scale, in the same run:

* **miaopi screen** — ``miaopi.screening.screen`` with the demo policies (DuckDB, ``--memory-limit``):
  the subjects' fingerprints pass, then evaluation streamed to Parquet with ``COPY``;
* **hand-written DuckDB** — the 稳岗返还 policy written directly in SQL (status and amount only, no
  per-rule results or missing facts), streamed with ``COPY`` under the same limit: eligible count and
  amount total must equal the compiled run's (checked);
* **incremental** (district) — 1,000 enterprises' insurance records changed, then
  ``screen(previous=…)`` vs a full run: only the changed subjects are re-evaluated, same result.

    python bench/bench_province.py [--scales district,province] [--province-dir /tmp/bench-province]
                                   [--memory-limit 3GB]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

SCREEN = """
import datetime as dt, json, sys, time
from pathlib import Path
from miaopi.catalog import DEMO_CATALOG, Catalog
from miaopi.screening import screen
from miaopi.sharing import ResourceCatalogue, SharingExchange

city, output, limit, policies = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4].split(",")
previous = Path(sys.argv[5]) if len(sys.argv) > 5 else None
resources = ResourceCatalogue.load(city / "resources.yaml")
catalog = Catalog.load(DEMO_CATALOG, resources)
exchange = SharingExchange(resources, catalog.grants)
marks = {}
def progress(label, done, total):
    marks.setdefault(label, time.perf_counter())
started = time.perf_counter()
run = screen(catalog, exchange, dt.date(2026, 11, 22), output, policies, progress=progress,
             previous=previous, memory_limit=limit, threads=2)
ended = time.perf_counter()
order = list(marks.values()) + [ended]
print(json.dumps({
    "seconds": ended - started,
    "passes": {label: order[i + 1] - start for i, (label, start) in enumerate(marks.items())},
    "figures": [vars(f) for f in run.figures],
    "reevaluation": vars(run.reevaluation) if run.reevaluation else None,
}))
"""

HAND = """
import duckdb, json, sys, time
registry, employer, claims, dishonest, output, limit = sys.argv[1:7]
connection = duckdb.connect(config={"memory_limit": limit, "threads": 2, "preserve_insertion_order": False})
connection.execute("SET enable_progress_bar = false")
started = time.perf_counter()
connection.execute(f'''
COPY (
  SELECT credit_code AS subject,
    CASE WHEN eligible THEN 'eligible' WHEN NOT eligible THEN 'ineligible' ELSE 'unknown' END AS status,
    CASE WHEN eligible THEN round(paid * CASE WHEN entity_type = '企业' AND size_class = '大'
                                             THEN 0.3 ELSE 0.6 END, 2) END AS amount
  FROM (
    SELECT r.credit_code, r.entity_type, r.size_class, e.paid,
      r.entity_type IN ('企业', '社会团体', '基金会', '民办非企业单位', '律师事务所', '会计师事务所', '个体工商户')
      AND e.months >= 12
      AND coalesce(c.claims, 0) / nullif(e.insured, 0) <= CASE WHEN e.insured <= 30 THEN 0.2 ELSE 0.055 END
      AND d.credit_code IS NULL AS eligible
    FROM read_parquet('{registry}') r
    JOIN (SELECT credit_code, sum(ui_paid) AS paid, max(months_paid_in_full) AS months,
                 max(avg_insured_headcount) AS insured
          FROM read_parquet('{employer}') WHERE year = 2025 GROUP BY credit_code) e USING (credit_code)
    LEFT JOIN (SELECT former_employer, count(*) AS claims FROM read_parquet('{claims}')
               WHERE year(claim_date) = 2025 GROUP BY former_employer) c ON c.former_employer = r.credit_code
    LEFT JOIN (SELECT DISTINCT subject_id AS credit_code FROM read_parquet('{dishonest}')
               WHERE listed_date <= DATE '2026-11-22'
                 AND (removed_date IS NULL OR removed_date > DATE '2026-11-22')) d USING (credit_code)
    WHERE r.status = '存续'
  )
) TO '{output}' (FORMAT parquet)''')
seconds = time.perf_counter() - started
eligible, amount = connection.execute(
    f"SELECT count(*) FILTER (WHERE status = 'eligible'), sum(amount) FROM read_parquet('{output}')").fetchone()
print(json.dumps({"seconds": seconds, "eligible": eligible, "amount": amount}))
"""

REFUND = "ui-job-retention-refund"
POLICIES = "shanghai-elderly-allowance,ui-job-retention-refund"


def child(code: str, *arguments: str) -> tuple[dict[str, object], float]:
    """Run ``code`` in a child process: its JSON answer and its peak RSS in MiB."""
    process = subprocess.Popen([sys.executable, "-c", code, *arguments], stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child failed: {arguments}")
    return json.loads(output.splitlines()[-1]), usage.ru_maxrss / 1024  # Linux reports KiB


def city_for(scale: str, kept: dict[str, Path], scratch: Path) -> Path:
    folder = kept.get(scale) or scratch / scale
    if not (folder / "resources.yaml").is_file():
        print(f"generating the {scale} city in {folder} …", flush=True)
        from miaopi.city import generate_city

        generate_city(folder, scale=scale)
    return folder


def resource(city: Path, code: str) -> str:
    from miaopi.sharing import ResourceCatalogue

    path = ResourceCatalogue.load(city / "resources.yaml").resource(code).path
    return str(path)


def bench_scale(scale: str, city: Path, scratch: Path, limit: str, policies: str) -> None:
    count = duckdb.connect()
    rows = count.execute(
        f"SELECT count(*) FROM read_parquet('{resource(city, 'enterprise.registry')}')"
    ).fetchone()
    people = count.execute(
        f"SELECT count(*) FROM read_parquet('{resource(city, 'population.person')}')"
    ).fetchone()
    assert rows is not None and people is not None
    output = scratch / f"{scale}.parquet"
    started = time.perf_counter()
    run, rss = child(SCREEN, str(city), str(output), limit, policies)
    wall = time.perf_counter() - started
    passes = run["passes"]
    assert isinstance(passes, dict)
    evaluation = passes.get("筛查（读取共享数据并评估规则）", 0.0)
    fingerprints = passes.get("计算主体指纹", 0.0) + passes.get("找出数据变化的主体", 0.0)
    figures = {f["policy_id"]: f for f in run["figures"]}  # type: ignore[attr-defined]
    hand, hand_rss = child(
        HAND,
        resource(city, "enterprise.registry"),
        resource(city, "social_insurance.employer_year"),
        resource(city, "social_insurance.ui_claim"),
        resource(city, "credit.dishonest_enterprise"),
        str(scratch / f"{scale}-hand.parquet"),
        limit,
    )
    refund = figures[REFUND]
    assert hand["eligible"] == refund["eligible"], (hand, refund)
    assert abs(float(hand["amount"]) - refund["total_amount"]) < 0.01 * max(1, refund["eligible"]), (
        hand,
        refund,
    )  # type: ignore[arg-type]
    print(
        f"{scale}: {rows[0]:,} enterprises, {people[0]:,} people; policies {policies}; DuckDB memory_limit {limit}"
    )
    for policy_id, f in figures.items():
        print(
            f"  {policy_id:<28} screened {f['screened']:>11,}  eligible {f['eligible']:>10,}  "
            f"unknown {f['unknown']:>8,}  amount {f['total_amount']:>18,.2f}"
        )
    print(
        f"  miaopi screen        wall {wall:7.2f} s (in process {run['seconds']:.2f} s: fingerprints {fingerprints:.2f} s, "
        f"evaluation + COPY {evaluation:.2f} s), peak RSS {rss:,.0f} MiB"
    )
    print(
        f"  hand-written DuckDB  {hand['seconds']:7.2f} s for 稳岗返还 alone (status + amount), peak RSS {hand_rss:,.0f} MiB; "
        f"same eligible count and total ✔"
    )
    if scale == "district":
        bench_evaluation(city, policies)
        bench_incremental(city, scratch, output, limit, policies)


def bench_evaluation(city: Path, policies: str) -> None:
    """Evaluation alone (the compiled screening counted and summed per policy, nothing written),
    each policy on its own and all together, median of 3, in this process."""
    import datetime as dt
    import statistics

    from miaopi.catalog import DEMO_CATALOG, Catalog
    from miaopi.screening.plan import compile_screening
    from miaopi.sharing import ResourceCatalogue, SharingExchange

    resources = ResourceCatalogue.load(city / "resources.yaml")
    catalog = Catalog.load(DEMO_CATALOG, resources)
    exchange = SharingExchange(resources, catalog.grants)
    chosen = policies.split(",")
    for group in [[policy] for policy in chosen] + ([chosen] if len(chosen) > 1 else []):
        kinds = compile_screening(
            catalog, [catalog.policies[p] for p in group], dt.date(2026, 11, 22), "duckdb"
        )
        connection = exchange.population_reads(
            [read for kind in kinds for read in kind.reads], duckdb.connect()
        )
        union = " UNION ALL ".join(kind.results_sql for kind in kinds)
        sql = (
            "SELECT policy_id, count(*), count(*) FILTER (WHERE status = 'eligible'), sum(amount) "
            f"FROM ({union}) GROUP BY policy_id"
        )
        times = []
        for _ in range(3):
            started = time.perf_counter()
            connection.execute(sql).fetchall()
            times.append(time.perf_counter() - started)
        print(f"  evaluation only, {' + '.join(group)}: {statistics.median(times):.2f} s (median of 3)")


def bench_incremental(original: Path, scratch: Path, previous: Path, limit: str, policies: str) -> None:
    city = scratch / "changed-city"  # a copy: the city given is never changed
    shutil.copytree(original, city)
    employer = resource(city, "social_insurance.employer_year")
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE rows AS SELECT * FROM read_parquet('{employer}')")
    connection.execute(
        "UPDATE rows SET ui_paid = ui_paid + 100 WHERE year = 2025 AND credit_code IN "
        "(SELECT DISTINCT credit_code FROM rows WHERE year = 2025 ORDER BY credit_code LIMIT 1000)"
    )
    connection.execute(f"COPY rows TO '{employer}' (FORMAT parquet)")
    again, rss = child(
        SCREEN, str(city), str(scratch / "incremental.parquet"), limit, policies, str(previous)
    )
    full, full_rss = child(SCREEN, str(city), str(scratch / "full.parquet"), limit, policies)
    same = connection.execute(
        f"SELECT count(*) FROM (SELECT * FROM '{scratch / 'incremental.parquet'}' "
        f"EXCEPT ALL SELECT * FROM '{scratch / 'full.parquet'}')"
    ).fetchone()
    assert same == (0,) and again["figures"] == full["figures"], "incremental and full results differ"
    counted = again["reevaluation"]
    assert isinstance(counted, dict)
    print(
        f"  incremental after 1,000 enterprises' records changed: {again['seconds']:.2f} s, re-evaluated "
        f"{counted['reevaluated']:,} of {counted['subjects']:,} subjects (peak {rss:,.0f} MiB); "
        f"full run {full['seconds']:.2f} s (peak {full_rss:,.0f} MiB); results identical ✔"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="district,province")
    parser.add_argument("--province-dir", type=Path, default=Path("/tmp/bench-province"))
    parser.add_argument(
        "--district-dir", type=Path, help="reuse a generated district (default: generate one)"
    )
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    parser.add_argument("--policies", default=POLICIES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_province_") as folder:
        scratch = Path(folder)
        for scale in args.scales.split(","):
            bench_scale(
                scale,
                city_for(scale, {"province": args.province_dir, "district": args.district_dir}, scratch),
                scratch,
                args.memory_limit,
                args.policies,
            )


if __name__ == "__main__":
    main()
