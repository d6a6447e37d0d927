"""``miaopi catalog check|test``: static checks and the tests beside the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from miaopi.catalog import DEMO_CATALOG, Catalog, CatalogError, run_all
from miaopi.config import load_settings
from miaopi.notifications.templates import TemplateError, Templates
from miaopi.sharing import CatalogueError, ResourceCatalogue

catalog_app = typer.Typer(help="事项目录：静态检查与规则用例测试。", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

CatalogDir = Annotated[Path | None, typer.Argument(help="事项目录文件夹（默认：内置示范目录）")]
ResourcesFile = Annotated[
    Path | None,
    typer.Option(
        "--resources", help="信息资源目录文件 resources.yaml（默认：数据目录中的，或内置合成城市的）"
    ),
]


def resource_catalogue(path: Path | None) -> ResourceCatalogue:
    """The resource catalogue rules are checked against: the given file, the deployment's, or the
    synthetic city's built-in description."""
    if path is None:
        deployed = load_settings().city_dir / "resources.yaml"
        if deployed.exists():
            path = deployed
    try:
        if path is not None:
            return ResourceCatalogue.load(path)
        from miaopi.city import builtin_resource_catalogue

        return builtin_resource_catalogue()
    except CatalogueError as error:
        errors.print(f"[red]信息资源目录有误：[/red]{error}")
        raise typer.Exit(2) from None


def _load(directory: Path | None, resources: Path | None) -> Catalog:
    root = directory or DEMO_CATALOG
    try:
        return Catalog.load(root, resource_catalogue(resources))
    except CatalogError as error:
        for problem in error.problems:
            errors.print(f"[bold]{problem.file}:{problem.line}[/bold]: {problem.message}", highlight=False)
        errors.print(f"[red]{len(error.problems)} 个错误[/red]")
        raise typer.Exit(1) from None


@catalog_app.command("check")
def check(directory: CatalogDir = None, resources: ResourcesFile = None) -> None:
    """静态检查：语法、字段、表达式、类型、版本、共享授权；有错误时退出码非零。"""
    catalog = _load(directory, resources)
    try:
        Templates.load(directory or DEMO_CATALOG)  # the catalogue's notifications.yaml, if any
    except TemplateError as error:
        errors.print(f"[red]通知模板有误：[/red]{error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"[green]检查通过[/green]：{len(catalog.items)} 个事项，{len(catalog.policies)} 项政策，"
        f"{len(catalog.triggers)} 个触发器，"
        f"{len(catalog.facts.facts)} 个事实，{len(catalog.licence_types)} 种证照类型"
    )


@catalog_app.command("test")
def test(directory: CatalogDir = None, resources: ResourcesFile = None) -> None:
    """运行事项和政策文件中的全部用例，最后一行为 “N passed, M failed”。"""
    catalog = _load(directory, resources)
    results = run_all(catalog)
    for result in results:
        if result.passed:
            console.print(f"[green]✓[/green] {result.owner} · {result.case.name}", highlight=False)
        else:
            console.print(
                f"[red]✗[/red] {result.owner} · {result.case.name}  ({result.file}:{result.case.line})",
                highlight=False,
            )
            for problem in result.problems:
                console.print(f"    {problem}", highlight=False)
    passed = sum(result.passed for result in results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)
