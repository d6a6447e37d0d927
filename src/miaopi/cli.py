"""The ``miaopi`` command line (Typer + Rich). Each concept contributes its own sub-commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from miaopi import __version__
from miaopi.catalog.cli import catalog_app
from miaopi.city.cli import city_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment, DeploymentError, ProgressCallback, initialise
from miaopi.sharing.cli import sharing_app

app = typer.Typer(
    name="miaopi",
    help="秒批 Miaopi：基于共享数据的智能审批、免申即享与无感审批平台。",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(city_app, name="city")
app.add_typer(sharing_app, name="sharing")
app.add_typer(catalog_app, name="catalog")

console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="MIAOPI_DATA_DIR", help="数据目录（也可用环境变量 MIAOPI_DATA_DIR），默认 ./data"
    ),
]


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A Rich progress bar driven by ``progress(label, done, total)`` callbacks, one row per label."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        yield report


def _initialise(data_dir: Path | None) -> Deployment:
    settings = load_settings(data_dir)
    try:
        if not settings.marker.exists():
            console.print(f"初始化内置部署（示范数据）：{settings.data_dir}")
        with progress_bar() as report:
            initialise(settings, report)
        return Deployment.open(settings)
    except DeploymentError as error:
        errors.print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None


@app.command()
def init(data_dir: DataDir = None) -> None:
    """初始化数据目录（合成城市数据、示范事项目录、数据库），已初始化则只迁移数据库结构。"""
    deployment = _initialise(data_dir)
    console.print(f"[green]就绪[/green]：{deployment.settings.data_dir}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="监听端口", min=1, max=65535)] = 8000,
    data_dir: DataDir = None,
) -> None:
    """启动服务：空数据目录会先自动初始化为内置部署。"""
    import uvicorn

    from miaopi.api import create_app

    deployment = _initialise(data_dir)
    console.print(f"秒批服务：http://{host}:{port}/api/v1/health  （数据库：{deployment.database.dialect}）")
    uvicorn.run(create_app(deployment), host=host, port=port, log_level="info")


@app.command()
def version() -> None:
    """显示版本。"""
    console.print(f"miaopi {__version__}")
