"""``miaopi events``: consume from NATS JetStream, the daily scans, the event types."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from miaopi.approval import china_today
from miaopi.deployment.command import open_for_command
from miaopi.events.consumer import DURABLE, STREAM, SUBJECT_PREFIX, EventConsumer
from miaopi.events.scan import ScanResult, scan_ages, scan_expiry
from miaopi.events.types import EVENT_TYPES

events_app = typer.Typer(
    help="事件：接收（NATS JetStream）、每日扫描（证照到期、年满周岁）。", no_args_is_help=True
)
console = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录（也可用环境变量 MIAOPI_DATA_DIR）"),
]
AsOf = Annotated[str | None, typer.Option("--as-of", help="扫描日 YYYY-MM-DD（默认：今天，北京时间）")]


def _day(text: str | None, option: str) -> dt.date:
    if text is None:
        return china_today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        console.print(f"[red]错误：[/red]{option} 应为日期 YYYY-MM-DD，实际为“{text}”")
        raise typer.Exit(2) from None


@events_app.command("consume")
def consume(
    servers: Annotated[
        str, typer.Option(envvar="MIAOPI_NATS_URL", help="NATS 服务器")
    ] = "nats://127.0.0.1:4222",
    stream: Annotated[str, typer.Option(help="JetStream 流名")] = STREAM,
    durable: Annotated[str, typer.Option(help="持久消费者名")] = DURABLE,
    prefix: Annotated[str, typer.Option(help="主题前缀：部门在 <前缀>.<部门代码> 上发布")] = SUBJECT_PREFIX,
    batch: Annotated[int, typer.Option(help="每批拉取的消息数", min=1, max=5000)] = 200,
    ack_wait: Annotated[float, typer.Option(help="未确认消息的重投等待（秒）", min=0.5)] = 30.0,
    idle_exit: Annotated[
        float | None, typer.Option(help="连续这么多秒没有消息即退出（默认一直运行）", min=0.5)
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """持久消费 NATS JetStream 中的部门事件：存储并处理成功后才确认；重复的事件编号确认后忽略。"""
    deployment = open_for_command(data_dir)
    deployment.warm()
    consumer = EventConsumer(
        deployment.events,
        servers,
        stream=stream,
        durable=durable,
        prefix=prefix,
        batch=batch,
        ack_wait=ack_wait,
    )
    console.print(f"消费 {prefix}.> （流 {stream}，消费者 {durable}）")
    try:
        counts = asyncio.run(consumer.run(idle_exit=idle_exit))
    except KeyboardInterrupt:
        counts = consumer.counts
    finally:
        deployment.close()
    console.print(
        f"收到 {counts.received}，新存储 {counts.stored}，重复 {counts.duplicates}，"
        f"无效 {counts.invalid}，开启无感审批办件 {counts.cases}"
    )


def _report(what: str, result: ScanResult) -> None:
    console.print(
        f"{what}：发现 {result.found}，新事件 {result.stored}，此前已记录 {result.duplicates}，"
        f"开启无感审批办件 {result.cases}"
    )


@events_app.command("scan-expiry")
def scan_expiry_command(
    as_of: AsOf = None,
    within: Annotated[int, typer.Option(help="有效期在扫描日后多少天内届满", min=1, max=366)] = 60,
    data_dir: DataDir = None,
) -> None:
    """每日扫描电子证照库：有效期即将届满的证照 → 证照即将到期事件（同一证照同一届满日只记录一次）。"""
    deployment = open_for_command(data_dir)
    try:
        day = _day(as_of, "--as-of")
        _report(
            "证照即将到期",
            scan_expiry(deployment.catalog, deployment.exchange, deployment.events, day, within),
        )
    finally:
        deployment.close()


@events_app.command("scan-ages")
def scan_ages_command(
    as_of: AsOf = None,
    since: Annotated[str | None, typer.Option("--since", help="补扫起始日（默认：只扫描当天）")] = None,
    data_dir: DataDir = None,
) -> None:
    """每日扫描人口库：当天（或自 --since 起）年满65、70、80周岁的在世人员 → 年满周岁事件。"""
    deployment = open_for_command(data_dir)
    try:
        day = _day(as_of, "--as-of")
        first = _day(since, "--since") if since else None
        _report(
            "年满周岁",
            scan_ages(deployment.catalog, deployment.exchange, deployment.events, day, since=first),
        )
    finally:
        deployment.close()


@events_app.command("types")
def types() -> None:
    """可接收的事件类型、发送部门和字段。"""
    table = Table("事件类型", "名称", "主体", "发送部门", "字段")
    for event in EVENT_TYPES.values():
        table.add_row(
            event.code,
            event.label,
            event.subject,
            ", ".join(event.sources),
            ", ".join(f"{f.name}（{f.label}）" for f in event.fields),
        )
    # Wide when not on a terminal (a report piped to a file keeps whole identifiers).
    Console(width=None if sys.stdout.isatty() else 200).print(table)
