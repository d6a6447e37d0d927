"""``miaopi audit``: check the audit chain of a case store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from miaopi.audit.chain import AuditLog
from miaopi.config import load_settings
from miaopi.store import Database

audit_app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录，默认 ./data")
]


@audit_app.callback()
def audit() -> None:
    """审计日志：防篡改的哈希链。"""
    # A callback keeps ``verify`` a sub-command when this is the app's only command.


def _open(data_dir: Path | None) -> Database:
    settings = load_settings(data_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        errors.print(f"[red]错误：[/red]数据库不存在：{url.database}（请先运行 miaopi init）")
        raise typer.Exit(2)
    database = Database(settings.database_url)
    if not {"audit_log", "audit_head"} <= set(inspect(database.engine).get_table_names()):
        database.dispose()
        errors.print("[red]错误：[/red]数据库中没有审计日志表（请先运行 miaopi init 迁移数据库）")
        raise typer.Exit(2)
    return database


@audit_app.command("verify")
def verify(data_dir: DataDir = None) -> None:
    """逐条校验审计链：内容哈希、前后衔接、序号连续、链头一致。"""
    database = _open(data_dir)
    log = AuditLog()
    try:
        with (
            database.session() as session,
            Progress(
                TextColumn("[bold]校验审计链"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task("verify", total=None)
            result = log.verify(
                session, progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
            broken = None
            if result.first_broken is not None:
                try:
                    broken = log.entry(session, result.first_broken)
                except (TypeError, ValueError):  # a field too damaged to read back
                    broken = None
    finally:
        database.dispose()
    if result.ok:
        console.print(f"[green]{result.reason}[/green]")
        return
    errors.print(f"[red]审计链已损坏[/red]：{result.reason}")
    errors.print(f"此前 {result.checked} 条记录完好。")
    if broken is not None:
        table = Table("字段", Column("值", overflow="fold"), title=f"第 {broken.seq} 条记录（如库中所存）")
        table.add_row("时间（UTC）", broken.recorded_at.isoformat())
        table.add_row("操作者", broken.actor)
        table.add_row("事件", broken.action)
        table.add_row("对象", broken.target)
        table.add_row("结果", broken.outcome)
        table.add_row("详情", broken.details)
        table.add_row("前序哈希", broken.prev_hash)
        table.add_row("记录哈希", broken.entry_hash)
        errors.print(table)
    raise typer.Exit(1)
