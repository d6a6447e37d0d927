"""Spark local mode vs DuckDB: the 34 policies × 2 million enterprises of ``bench_screening.py``.

The enterprise facts are written once to Parquet; both engines then run the same compiled rules
(``miaopi.rules`` → DuckDB SQL, and → Spark SQL through sqlglot) over that file and compute every
policy's eligible count and amount total. Results must agree (checked). Spark's figures are given
with and without starting the session: Spark pays for its JVM start, and local mode on 2 cores
measures an engine built for clusters on a laptop-sized machine.

    python bench/bench_spark.py [--rows 2000000] [--repeat 3] [--master local[2]]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_screening import AS_OF, FACTS, _close, make_table, policies
from miaopi.rules import FactType, compile_expression


def summary_sql(specs: list[dict[str, object]], dialect: str, table: str) -> str:
    """Per policy: eligible count and amount total, the rules compiled for ``dialect``."""
    quote = '"' if dialect == "duckdb" else "`"

    def column(name: str) -> str:
        return f"DATE '{AS_OF.isoformat()}'" if name == "decision_date" else f"{quote}{name}{quote}"

    inner, outer = [], []
    for index, spec in enumerate(specs):
        rules = [compile_expression(str(rule), FACTS, expect=FactType.BOOLEAN) for rule in spec["rules"]]  # type: ignore[attr-defined]
        amount = compile_expression(str(spec["amount"]), FACTS)
        conjunction = " AND ".join(f"({rule.to_sql(dialect, column)})" for rule in rules)
        inner.append(f"({conjunction}) AS ok{index}")
        inner.append(f"CAST({amount.to_sql(dialect, column)} AS DOUBLE) AS raw{index}")
        outer.append(f"count(CASE WHEN ok{index} THEN 1 END) AS n{index}")
        outer.append(f"round(sum(CASE WHEN ok{index} THEN raw{index} END), 2) AS a{index}")
    return f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {table}) screening"


def pairs(row: tuple[object, ...] | list[object], count: int) -> list[tuple[int, float]]:
    return [(int(row[2 * i]), float(row[2 * i + 1] or 0)) for i in range(count)]  # type: ignore[call-overload, arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    specs = policies()
    with tempfile.TemporaryDirectory(prefix="bench_spark_") as folder:
        path = Path(folder) / "facts.parquet"
        frame = make_table(args.rows)
        frame.insert(0, "subject", range(args.rows))
        frame["enterprise.founded"] = frame["enterprise.founded"].dt.date
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=250_000)
        del frame

        connection = duckdb.connect()
        duck_sql = summary_sql(specs, "duckdb", f"read_parquet('{path}')")
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            by_duckdb = pairs(connection.execute(duck_sql).fetchone() or (), len(specs))
            times.append(time.perf_counter() - started)
        t_duckdb = statistics.median(times)

        started = time.perf_counter()
        from miaopi.screening.spark_engine import spark_session

        spark = spark_session(args.master)
        spark.sparkContext.setLogLevel("ERROR")
        spark.read.parquet(str(path)).createOrReplaceTempView("facts")
        t_start = time.perf_counter() - started
        spark_sql = summary_sql(specs, "spark", "facts")
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            by_spark = pairs(list(spark.sql(spark_sql).collect()[0]), len(specs))
            times.append(time.perf_counter() - started)
        t_first, t_spark = times[0], statistics.median(times)
        spark.stop()

    assert _close(by_duckdb, by_spark), "DuckDB and Spark results differ"
    eligible = sum(count for count, _ in by_duckdb)
    print(
        f"screening on Spark: {len(specs)} policies × {args.rows:,} enterprises from Parquet "
        f"({eligible:,} eligible pairs; both engines agree)"
    )
    lines = [
        ("DuckDB", t_duckdb),
        (f"Spark {args.master}, query (median of {args.repeat})", t_spark),
        ("Spark, first query (cold JVM)", t_first),
        (f"Spark, session start ({t_start:.1f} s) + first query", t_start + t_first),
    ]
    for label, seconds in lines:
        print(f"  {label:<44}{seconds:8.2f} s   {seconds / t_duckdb:5.1f}× DuckDB")


if __name__ == "__main__":
    main()
