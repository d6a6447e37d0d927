"""``miaopi offers make | expire | stats``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from miaopi.deployment.command import open_for_command
from miaopi.offers.service import OfferError

offers_app = typer.Typer(help="免申即享：按筛查结果推送待遇、处理逾期、统计。", no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录，默认 ./data")
]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.print(f"[red]错误：[/red]{option} 应为日期 YYYY-MM-DD，实际为“{value}”")
        raise typer.Exit(2) from None


@offers_app.command("make")
def make(
    policy: Annotated[str, typer.Option("--policy", help="政策编号")],
    period: Annotated[
        str | None,
        typer.Option(help="发放期：2026 / 2026-Q4 / 2026-11（按政策的 period），默认筛查基准日所在期"),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="筛查基准日 YYYY-MM-DD，默认今天（北京时间）")
    ] = None,
    screening: Annotated[
        Path | None, typer.Option(help="使用已有的筛查结果（miaopi screen 的 Parquet），不再重新筛查")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """筛查（或读取筛查结果）并为符合条件者生成待确认事项：每个政策、主体、发放期只生成一次；预算不足时按政策声明的顺序，其余排队。"""
    from miaopi.cli import progress_bar

    day = _date(as_of, "--as-of")
    deployment = open_for_command(data_dir)
    try:
        with progress_bar() as report:
            result = deployment.offers.make(
                policy, period=period, as_of=day, screening=screening, progress=report
            )
    except OfferError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    console.print(
        f"{result.policy_id} 发放期 {result.period}（筛查基准日 {result.as_of}）：筛查 {result.screened:,}，"
        f"符合 {result.eligible:,}，不符合 {result.ineligible:,}，缺数据 {result.unknown:,}；"
        f"新生成 {result.created:,}，本次推送 {result.made:,}，预算排队 {result.waiting:,}，撤回 {result.withdrawn:,}"
    )
    console.print(f"筛查结果：{result.output}")


@offers_app.command("expire")
def expire(
    today: Annotated[str | None, typer.Option(help="按该日处理（YYYY-MM-DD），默认今天（北京时间）")] = None,
    data_dir: DataDir = None,
) -> None:
    """将超过确认期限仍未确认的事项标为逾期并按顺序递补排队者；确认期限临近（3日内）的提醒一次。请每日运行一次（如 cron）。"""
    day = _date(today, "--today")
    deployment = open_for_command(data_dir)
    run = deployment.offers.expire(day)
    console.print(f"逾期 {run.expired:,} 项，递补推送 {run.made:,} 项，临期提醒 {run.reminded:,} 项")


@offers_app.command("stats")
def stats(
    policy: Annotated[str | None, typer.Option("--policy", help="政策编号，缺省为全部")] = None,
    period: Annotated[str | None, typer.Option(help="发放期")] = None,
    data_dir: DataDir = None,
) -> None:
    """各政策、发放期的筛查、符合、推送、排队、确认、放弃、逾期、支付人数，金额与剩余预算。"""
    deployment = open_for_command(data_dir)
    try:
        rows = deployment.offers.stats(policy, period)
    except OfferError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    table = Table(
        "政策",
        "发放期",
        "筛查",
        "符合",
        "已推送",
        "排队",
        "已确认",
        "放弃",
        "逾期",
        "已支付",
        "推送金额（元）",
        "确认金额（元）",
        "剩余预算（元）",
    )
    for row in rows:
        table.add_row(
            f"{row.policy_name}（{row.policy_id}）",
            row.period,
            f"{row.screened:,}",
            f"{row.eligible:,}",
            f"{row.offered:,}",
            f"{row.waiting:,}",
            f"{row.confirmed:,}",
            f"{row.declined:,}",
            f"{row.expired:,}",
            f"{row.paid:,}",
            f"{row.offered_amount:,.2f}",
            f"{row.confirmed_amount:,.2f}",
            "不限" if row.budget_left is None else f"{row.budget_left:,.2f}",
        )
    console.print(table)
