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
from miaopi.screening.run import ScreeningError, screen

# Wide when written to a file or a pipe, so no policy name is cut off in a report.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def screen_command(
    policy: Annotated[
        list[str] | None, typer.Option("--policy", help="政策编号，可重复；缺省为全部政策")
    ] = None,
    engine: Annotated[str, typer.Option(help="duckdb（默认）或 spark")] = "duckdb",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="筛查基准日 YYYY-MM-DD，默认今天（北京时间）")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="结果文件（Parquet），默认 数据目录/screening/筛查日.parquet")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录")
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
    deployment = open_for_command(data_dir)
    output = out or deployment.settings.data_dir / "screening" / f"{day.isoformat()}.parquet"
    try:
        with progress_bar() as report:
            run = screen(deployment.catalog, deployment.exchange, day, output, policy or [], engine, report)
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
    console.print(f"结果：{run.output}（筛查基准日 {day}）")
