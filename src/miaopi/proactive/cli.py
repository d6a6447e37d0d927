"""``miaopi proactive``: the daily sweep (reminders, expiry) and the figures per trigger."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from miaopi.deployment.command import open_for_command
from miaopi.events.cli import AsOf, DataDir, _day
from miaopi.proactive.stats import trigger_figures

proactive_app = typer.Typer(help="无感审批：提醒与逾期、各触发器数据。", no_args_is_help=True)
console = Console(soft_wrap=True)


@proactive_app.command("sweep")
def sweep(as_of: AsOf = None, data_dir: DataDir = None) -> None:
    """提醒未办理的对象，关闭已逾期的无感审批办件，以及待享受资格已失效（逾期、放弃、终止、撤回）的办件。"""
    deployment = open_for_command(data_dir)
    try:
        reminded, closed = deployment.proactive.sweep(_day(as_of, "--as-of") if as_of else None)
    finally:
        deployment.close()
    console.print(f"已提醒 {reminded} 件，关闭 {closed} 件（逾期，或待享受资格已失效）")


@proactive_app.command("stats")
def stats(data_dir: DataDir = None) -> None:
    """各触发器：发现、推送、确认、办结、放弃、逾期、终止（当事人死亡）、交互次数中位数、免交材料和免填表单字段。"""
    deployment = open_for_command(data_dir)
    try:
        with deployment.database.session() as session:
            figures = trigger_figures(session, deployment.catalog)
    finally:
        deployment.close()
    table = Table(
        "触发器", "发现", "推送", "确认", "办结", "放弃", "逾期", "终止", "交互中位数", "免交材料", "免填字段"
    )
    for f in figures:
        table.add_row(
            f.trigger_id,
            str(f.detected),
            str(f.pushed),
            str(f.confirmed),
            str(f.completed),
            str(f.declined),
            str(f.expired),
            str(f.ended),
            "—" if f.median_interactions is None else f"{f.median_interactions:g}",
            str(f.materials_not_needed),
            str(f.form_fields_not_needed),
        )
    # Wide when not on a terminal (a report piped to a file keeps whole identifiers).
    Console(width=None if sys.stdout.isatty() else 200).print(table)


__all__ = ["proactive_app"]
