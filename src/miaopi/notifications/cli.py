"""``miaopi notifications``: run the outbox dispatcher, see delivery figures, list templates."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from miaopi.deployment.command import open_for_command
from miaopi.notifications.channels import CHANNEL_NAMES
from miaopi.notifications.dispatcher import Dispatcher, Report
from miaopi.notifications.outbox import STATUS_LABELS, STATUSES

notifications_app = typer.Typer(no_args_is_help=True, add_completion=False, help="通知：发件箱、渠道与模板。")
console = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录，默认 ./data")
]
OUTCOMES = {
    "delivered": "已送达",
    "sent": "已发送",
    "retried": "稍后重试",
    "failed": "发送失败",
    "lost": "租约过期",
    "released": "退回待发",
}


def _summary(report: Report) -> str:
    parts = [f"{OUTCOMES.get(outcome, outcome)} {count}" for outcome, count in sorted(report.counts.items())]
    return "，".join(parts) or "没有待发送的通知"


@notifications_app.command()
def dispatch(
    once: Annotated[bool, typer.Option("--once", help="发送当前到期的全部通知后退出")] = False,
    interval: Annotated[float, typer.Option(help="空闲时每隔多少秒检查一次", min=0.05, max=3600)] = 1.0,
    data_dir: DataDir = None,
) -> None:
    """发送发件箱中到期的通知（可与 miaopi serve 或其他发送进程同时运行，租约保证不重复发送）。"""
    deployment = open_for_command(data_dir)
    dispatcher = Dispatcher(deployment.notifications)
    total = Report()
    stop = threading.Event()
    if not once:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        console.print("通知发送中（Ctrl+C 结束）")
    try:
        while not stop.is_set():
            report = dispatcher.run_once()
            for outcome, count in report.counts.items():
                total.counts[outcome] = total.counts.get(outcome, 0) + count
            if report.handled == 0:
                if once:
                    break
                stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        deployment.close()
    console.print(_summary(total))


@notifications_app.command()
def purge(
    older_than: Annotated[
        int, typer.Option("--older-than", help="删除多少天以前、已办结的通知", min=1)
    ] = 365,
    data_dir: DataDir = None,
) -> None:
    """删除早于给定天数且各渠道均已结束（已发送、已送达或发送失败）的通知及其发送记录。"""
    deployment = open_for_command(data_dir)
    try:
        before = deployment.notifications.clock() - dt.timedelta(days=older_than)
        removed = deployment.notifications.purge(before, actor="system:cli")
    finally:
        deployment.close()
    console.print(f"已删除 {removed} 条 {before:%Y-%m-%d} 以前的通知")


@notifications_app.command()
def stats(data_dir: DataDir = None) -> None:
    """各渠道通知的发送状态统计。"""
    deployment = open_for_command(data_dir)
    try:
        counts = deployment.notifications.counts()
        recording = set(deployment.notifications.config.recording)
    finally:
        deployment.close()
    table = Table("渠道", *(STATUS_LABELS[status] for status in STATUSES), "网关")
    for channel, by_status in counts.items():
        gateway = "仅记录（未配置）" if channel in recording else "已配置"
        table.add_row(CHANNEL_NAMES.get(channel, channel), *(str(by_status[s]) for s in STATUSES), gateway)
    console.print(table)


@notifications_app.command()
def templates(data_dir: DataDir = None) -> None:
    """列出生效的通知模板及其变量。"""
    deployment = open_for_command(data_dir)
    deployment.close()
    table = Table("模板", "标题", "变量")
    for name in deployment.notifications.templates.names():
        template = deployment.notifications.templates.get(name)
        assert template is not None
        variables = "、".join(f"{key}（{label}）" for key, label in template.variables.items())
        table.add_row(name, template.title, variables)
    console.print(table)
