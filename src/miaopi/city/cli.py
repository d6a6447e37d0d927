"""``miaopi city``: generate the synthetic city's shared data."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from miaopi.city.generate import DEFAULT_SEED, SCALES, CityOutputError, generate_city

city_app = typer.Typer(help="合成城市：生成各部门共享数据（Parquet）与信息资源目录。", no_args_is_help=True)


@city_app.callback()
def city() -> None:
    """合成城市：生成各部门共享数据（Parquet）与信息资源目录。"""


@city_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="输出目录（为空、不存在或此前生成的城市数据目录）"),
    scale: str = typer.Option("demo", "--scale", help=f"规模：{'|'.join(SCALES)}"),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", min=0, help="随机种子：相同种子生成完全相同的文件"),
    force: bool = typer.Option(False, "--force", help="允许写入非空且非城市数据的目录"),
) -> None:
    """生成合成城市的各部门共享数据。"""
    console = Console()
    if scale not in SCALES:
        console.print(f"[red]错误：[/red]未知规模“{scale}”，可选：{'、'.join(SCALES)}")
        raise typer.Exit(2)
    tasks: dict[str, TaskID] = {}
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bar:  # fmt: skip

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        try:
            manifest = generate_city(out, scale, seed, report, force=force)
        except (CityOutputError, ValueError) as error:
            console.print(f"[red]错误：[/red]{error}")
            raise typer.Exit(1) from None
    elapsed = time.perf_counter() - started
    table = Table(title=f"合成城市（规模 {manifest.scale}，种子 {manifest.seed}）")
    table.add_column("资源代码")
    table.add_column("记录数", justify="right")
    for code, count in manifest.rows.items():
        table.add_row(code, f"{count:,}")
    table.add_row("[bold]合计[/bold]", f"[bold]{sum(manifest.rows.values()):,}[/bold]")
    console.print(table)
    console.print(f"已写入 {out}（目录：resources.yaml），用时 {elapsed:.1f} 秒")
