"""``miaopi sharing``: look at the resource catalogue and the access figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from miaopi.deployment.command import open_for_command
from miaopi.sharing.catalogue import CatalogueError
from miaopi.sharing.sources import quote_identifier

sharing_app = typer.Typer(help="数据共享：信息资源目录与调用记录。", no_args_is_help=True)
console = Console(soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录")]


@sharing_app.command("resources")
def list_resources(data_dir: DataDir = None) -> None:
    """列出信息资源目录。"""
    deployment = open_for_command(data_dir)
    catalogue = deployment.exchange.catalogue
    table = Table("资源代码", "名称", "提供部门", "共享类型", "更新周期", "主体", "字段数")
    for resource in catalogue.resources.values():
        table.add_row(
            resource.code,
            resource.name,
            catalogue.departments[resource.provider].name,
            resource.sharing.label,
            resource.update_cycle,
            "自然人" if resource.subject == "person" else "法人",
            str(len(resource.fields)),
        )
    console.print(table)


@sharing_app.command("access-log")
def access_log(data_dir: DataDir = None) -> None:
    """按资源、按部门统计共享数据调用次数。"""
    deployment = open_for_command(data_dir)
    with deployment.database.session() as session:
        counts = deployment.exchange.access_log.counts(session)
    for title, values in (("资源", counts.by_resource), ("部门", counts.by_department)):
        table = Table(title, "调用次数")
        for name, count in sorted(values.items(), key=lambda item: -item[1]):
            table.add_row(name, str(count))
        console.print(table)
    console.print(f"合计 {counts.total} 次")


@sharing_app.command("subjects")
def subjects(
    resource: Annotated[str, typer.Argument(help="资源代码，例如 population.person")],
    where: Annotated[str | None, typer.Option(help="DuckDB 条件，例如 \"hukou_city = '440300'\"")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 5,
    data_dir: DataDir = None,
) -> None:
    """（仅示范部署）列出合成数据中的几个主体标识，便于用 miaopi token --as 试用。"""
    deployment = open_for_command(data_dir)
    if not deployment.settings.demo_mode:
        Console(stderr=True).print("[red]错误：[/red]生产配置下不提供此命令（MIAOPI_DEMO_MODE=0）")
        raise typer.Exit(2)
    try:
        described = deployment.exchange.catalogue.resource(resource)
    except CatalogueError as error:
        Console(stderr=True).print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
    if described.path is None:
        Console(stderr=True).print("[red]错误：[/red]只支持 Parquet 资源")
        raise typer.Exit(2)
    query = f"SELECT DISTINCT {quote_identifier(described.key)} FROM read_parquet(?)"
    if where:
        query += f" WHERE {where}"
    try:
        rows = duckdb.connect().execute(f"{query} ORDER BY 1 LIMIT {limit}", [str(described.path)]).fetchall()
    except duckdb.Error as error:
        Console(stderr=True).print(f"[red]条件有误：[/red]{error}")
        raise typer.Exit(2) from None
    for (key,) in rows:
        print(key)
