"""Screening on Spark (optional extra ``miaopi[spark]``): the same compiled rules, generated in
sqlglot's Spark dialect, over the same Parquet files.

Each resource becomes a temporary view named by its resource code, projected onto the fields the
grants allow; the result is written by the executors as Parquet parts, sorted, then merged by the
driver into one file like the DuckDB engine's. On a cluster the shared data and the output folder
must be on storage every node reaches: ``paths`` rewrites local path prefixes to the URIs the
executors use (``/srv/miaopi/city=hdfs://namenode:8020/miaopi/city``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from miaopi.catalog import ScreeningError
from miaopi.screening.plan import KindScreening
from miaopi.sharing import SharingExchange
from miaopi.sharing.sources import ParquetSource

Progress = Callable[[str, int, int], None]
DEFAULT_MASTER = "local[2]"


def spark_session(master: str = DEFAULT_MASTER, conf: Mapping[str, str] | None = None) -> Any:
    """The running Spark session, or a new one on ``master`` (``local[2]``, ``spark://host:7077``,
    ``yarn``, ``k8s://…``)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ScreeningError(
            "Spark 引擎需要可选依赖 pyspark：pip install 'miaopi[spark]'（并需 Java 17）"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(master).appName("miaopi-screening")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    if master.startswith("local"):
        settings["spark.sql.shuffle.partitions"] = "4"
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def rewrite(path: Path, paths: Mapping[str, str]) -> str:
    """The URI the executors read ``path`` at: the longest matching local prefix rewritten."""
    text = str(path)
    for local in sorted(paths, key=len, reverse=True):
        prefix = local.rstrip("/")
        if text == prefix or text.startswith(prefix + "/"):
            return paths[local].rstrip("/") + text[len(prefix) :]
    return text


def screen_on_spark(
    exchange: SharingExchange,
    kinds: Sequence[KindScreening],
    output: Path,
    *,
    master: str = DEFAULT_MASTER,
    conf: Mapping[str, str] | None = None,
    paths: Mapping[str, str] | None = None,
    report: Progress,
) -> None:
    """Write the screening of ``kinds`` to ``output`` (one Parquet file)."""
    report("启动 Spark", 0, 3)
    spark = spark_session(master, conf)
    mapping = paths or {}
    projections = exchange.authorise_population([read for kind in kinds for read in kind.reads])
    for code, fields in projections.items():
        source = exchange.source(code)
        if isinstance(source, ParquetSource):
            reader = spark.read
            schema = _spark_schema(source.path, fields)
            if schema is not None:  # saves Spark a job per file to infer it
                reader = reader.schema(schema)
            frame = reader.parquet(rewrite(source.path, mapping)).select(*fields)
        else:  # a department database: read through the driver (fine for modest tables)
            frame = spark.createDataFrame(source.population(fields))
        # A single-part name (resource codes contain a dot), as the compiled SQL quotes it.
        frame.createOrReplaceTempView(f"`{code}`")
    report("筛查（读取共享数据并评估规则）", 1, 3)
    union = " UNION ALL ".join(kind.results_sql for kind in kinds)
    result = spark.sql(f"SELECT * FROM ({union}) screening ORDER BY policy_id, subject")
    staging = output.with_name(f".{output.name}.spark-parts")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        result.write.mode("overwrite").parquet(rewrite(staging, mapping))
        report("写出结果", 2, 3)
        _merge_parts(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report("写出结果", 3, 3)


_SPARK_TYPES = {
    pa.string(): "STRING",
    pa.large_string(): "STRING",
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.int16(): "SMALLINT",
    pa.int8(): "TINYINT",
    pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
}


def _spark_schema(path: Path, fields: Sequence[str]) -> str | None:
    """The Spark DDL schema of ``fields``, from the Parquet footer (None for a type not mapped)."""
    schema = pq.read_schema(path)
    columns = []
    for name in fields:
        spark_type = _SPARK_TYPES.get(schema.field(name).type)
        if spark_type is None:
            return None
        columns.append(f"`{name.replace('`', '``')}` {spark_type}")
    return ", ".join(columns)


def _merge_parts(staging: Path, output: Path) -> None:
    """Concatenate the sorted parts (Spark names them in the order of its range partitions) into one
    file, batch by batch."""
    parts = sorted(staging.glob("part-*.parquet"))
    if not parts:
        raise ScreeningError(f"Spark 没有写出结果文件（{staging}）")
    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(output, schema) as writer:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches():
                writer.write_batch(batch)
