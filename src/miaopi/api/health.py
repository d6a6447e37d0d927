"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import text

from miaopi import __version__
from miaopi.api.dependencies import deployment
from miaopi.deployment import Deployment

router = APIRouter(tags=["运行状态"])


class Health(BaseModel):
    status: str
    version: str
    database: str
    database_ok: bool
    resources: int
    items: int
    policies: int
    problems: list[str]


class Liveness(BaseModel):
    status: str


@router.get("/health/live", response_model=Liveness, summary="进程存活检查（不访问数据库）")
async def live() -> Liveness:
    """Liveness for orchestrators (e.g. a Kubernetes liveness probe): answers while the process can
    serve requests, without touching the database — readiness and problems are ``/health``."""
    return Liveness(status="ok")


@router.get("/health", response_model=Health, summary="服务健康状况")
def health(current: Annotated[Deployment, Depends(deployment)]) -> Health:
    try:
        with current.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database_ok = True
    except Exception:
        database_ok = False
    problems = list(current.problems)
    failed = current.scheduler.store.count("failed") if database_ok else 0
    if failed:
        problems.append(
            f"有 {failed} 个法定时限任务（提醒、督办、视为准予延续）多次重试仍失败，"
            "请用 miaopi scheduler jobs --state failed 查看错误"
        )
    return Health(
        status="ok" if database_ok and not problems else "degraded",
        version=__version__,
        database=current.database.dialect,
        database_ok=database_ok,
        resources=len(current.exchange.catalogue.resources),
        items=len(current.catalog.items),
        policies=len(current.catalog.policies),
        problems=problems,
    )
