"""``miaopi screen``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from miaopi.deployment.command import open_for_command
from miaopi.screening.duckdb_engine import fingerprints_path
from miaopi.screening.run import ScreeningError, screen

# Wide when written to a file or a pipe, so no policy name is cut off in a report.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def screen_command(
    policy: Annotated[
        list[str] | None, typer.Option("--policy", help="政策编号，可重复；缺省为全部政策")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="duckdb（默认）或 spark（需可选依赖 miaopi[spark]）")
    ] = "duckdb",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="筛查基准日 YYYY-MM-DD，默认今天（北京时间）")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="结果文件（Parquet），默认 数据目录/screening/筛查日.parquet")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录")
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="增量筛查：只重新评估数据有变化的主体，其余沿用上次结果（默认上次结果为筛查目录中最新的一份）",
        ),
    ] = False,
    previous: Annotated[
        Path | None, typer.Option("--previous", help="增量筛查所依据的上次结果文件（隐含 --incremental）")
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", help="DuckDB 内存上限，例如 3GB（超出部分溢写到磁盘）")
    ] = None,
    master: Annotated[
        str, typer.Option("--master", help="Spark master：local[2]（默认）、spark://主机:7077、yarn、k8s://…")
    ] = "local[2]",
    spark_conf: Annotated[
        list[str] | None, typer.Option("--spark-conf", help="Spark 配置 KEY=VALUE，可重复")
    ] = None,
    spark_path: Annotated[
        list[str] | None,
        typer.Option(
            "--spark-path", help="本地路径前缀=集群可见的 URI，例如 /srv/miaopi=hdfs://nn:8020/miaopi，可重复"
        ),
    ] = None,
) -> None:
    """免申即享筛查：用规则评估全部主体，写出符合条件者（含金额与逐条说明），缺数据者单列并指明缺少的事实。"""
    from miaopi.approval import china_today
    from miaopi.cli import progress_bar

    errors = Console(stderr=True, soft_wrap=True)
    try:
        day = dt.date.fromisoformat(as_of) if as_of else china_today()
    except ValueError:
        errors.print(f"[red]错误：[/red]--as-of 应为日期 YYYY-MM-DD，实际为“{as_of}”")
        raise typer.Exit(2) from None
    try:
        conf = _pairs(spark_conf or [], "--spark-conf")
        paths = _pairs(spark_path or [], "--spark-path")
    except ValueError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    deployment = open_for_command(data_dir)
    folder = deployment.settings.data_dir / "screening"
    output = out or folder / f"{day.isoformat()}.parquet"
    if incremental and previous is None:
        previous = latest_result(out.parent if out else folder)
        if previous is None:
            errors.print(
                f"[red]错误：[/red]{out.parent if out else folder} 中没有可供增量筛查的上次结果；请先全量筛查一次"
            )
            raise typer.Exit(2)
    try:
        with progress_bar() as report:
            run = screen(
                deployment.catalog, deployment.exchange, day, output, policy or [], engine, report,
                previous=previous, memory_limit=memory_limit,
                spark_master=master, spark_conf=conf, spark_paths=paths,
            )  # fmt: skip
    except ScreeningError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    with deployment.database.session() as session:
        deployment.exchange.access_log.flush(session)
    table = Table("政策", "版本", "筛查", "符合", "不符合", "缺数据", "金额合计（元）")
    for figures in run.figures:
        table.add_row(
            f"{figures.policy_name}（{figures.policy_id}）",
            figures.version_hash[7:19],
            f"{figures.screened:,}",
            f"{figures.eligible:,}",
            f"{figures.ineligible:,}",
            f"{figures.unknown:,}",
            f"{figures.total_amount:,.2f}",
        )
    console.print(table)
    console.print(f"结果：{run.output}（筛查基准日 {day}，引擎 {run.engine}）")
    counted = run.reevaluation
    if counted is not None and previous is not None:
        console.print(
            f"增量筛查（依据 {previous}）：主体 {counted.subjects:,}，重新评估 {counted.reevaluated:,}，"
            f"沿用上次结果 {counted.carried_over:,}，已不在登记库中 {counted.removed:,}"
            + (
                f"；规则或基准日有变化，全量评估：{'、'.join(counted.full_kinds)}"
                if counted.full_kinds
                else ""
            )
        )


def latest_result(folder: Path) -> Path | None:
    """The newest screening result in ``folder`` that has its subjects' fingerprints beside it."""
    results = [path for path in folder.glob("*.parquet") if fingerprints_path(path).is_file()]
    return max(results, key=lambda path: path.stat().st_mtime_ns, default=None)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{option} 应为 KEY=VALUE，实际为“{item}”")
        pairs[key] = value
    return pairs
