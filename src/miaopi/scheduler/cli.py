"""``miaopi scheduler``: run the legal clock's jobs (reminders, escalation, deemed approval)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from miaopi.deployment.command import open_for_command

scheduler_app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录，默认 ./data")
]
STATE_LABELS = {
    "pending": "待执行",
    "running": "执行中",
    "done": "已完成",
    "cancelled": "已取消",
    "failed": "失败",
}
KIND_LABELS = {"reminder": "到期提醒", "escalation": "超期督办", "deemed_approval": "视为准予延续"}


@scheduler_app.callback()
def scheduler() -> None:
    """法定时限任务：到期提醒、超期督办、视为准予延续（行政许可法第五十条）。"""


@scheduler_app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="只运行一轮：处理完当前到期的任务即退出")] = False,
    interval: Annotated[float, typer.Option(help="两轮之间的间隔（秒）", min=0.1)] = 30.0,
    data_dir: DataDir = None,
) -> None:
    """运行调度器（可与 miaopi serve 内置的调度线程同时运行：任务租约保证每个任务只执行一次）。"""
    deployment = open_for_command(data_dir)
    scheduler = deployment.scheduler
    scheduler.interval = interval
    try:
        if once:
            report = scheduler.run_once()
            console.print(
                f"本轮：重新规划 {report.planned} 个办件，完成 {report.done} 个任务，"
                f"待重试 {report.retried} 个，失败 {report.failed} 个"
            )
            for outcome in report.outcomes:
                console.print(f"  - {outcome}", highlight=False)
            return
        stop = threading.Event()

        def request_stop(_signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        console.print(f"调度器运行中（{scheduler.owner}），每 {interval:g} 秒一轮；Ctrl+C 停止")
        scheduler.run_forever(stop)
    finally:
        deployment.close()


@scheduler_app.command("jobs")
def jobs(
    state: Annotated[str | None, typer.Option(help="pending / running / done / cancelled / failed")] = None,
    case: Annotated[str | None, typer.Option("--case", help="办件编号")] = None,
    data_dir: DataDir = None,
) -> None:
    """列出任务及其状态、尝试次数和结果。"""
    if state is not None and state not in STATE_LABELS:
        console.print(f"[red]错误：[/red]--state 应为 {' / '.join(STATE_LABELS)} 之一")
        raise typer.Exit(2)
    deployment = open_for_command(data_dir)
    try:
        table = Table("任务", "办件", "到期（UTC）", "状态", "尝试", "结果或错误")
        for job in deployment.scheduler.store.jobs(target=case, state=state):
            table.add_row(
                KIND_LABELS.get(job.kind, job.kind),
                job.target,
                f"{job.due_at:%Y-%m-%d %H:%M}",
                STATE_LABELS.get(job.state, job.state),
                str(job.attempts),
                job.outcome or job.last_error or "",
            )
        console.print(table)
    finally:
        deployment.close()
