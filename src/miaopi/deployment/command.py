"""Opening the deployment from a command: a clear message and exit code 2 instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from miaopi.config import load_settings
from miaopi.deployment.setup import Deployment, DeploymentError


def open_for_command(data_dir: Path | None) -> Deployment:
    try:
        return Deployment.open(load_settings(data_dir))
    except DeploymentError as error:
        Console(stderr=True, soft_wrap=True).print(f"[red]错误：[/red]{error}")
        raise typer.Exit(2) from None
