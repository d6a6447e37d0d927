"""Initialise and open a deployment."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from miaopi import __version__
from miaopi.catalog import DEMO_CATALOG, Catalog, CatalogError
from miaopi.config import Settings
from miaopi.sharing import CatalogueError, ResourceCatalogue, SharingExchange
from miaopi.store import Database

ProgressCallback = Callable[[str, int, int], None]


class DeploymentError(RuntimeError):
    """The data directory cannot be used as it is; the message says why and what to do."""


def _no_progress(_label: str, _done: int, _total: int) -> None:
    return None


def initialise(settings: Settings, progress: ProgressCallback | None = None) -> bool:
    """Create the embedded deployment in ``settings.data_dir`` if it is not there yet.

    Returns True when something was created. An existing, initialised directory is left as it is
    (its store is still migrated to the newest schema); a non-empty directory that is not a Miaopi
    data directory is refused rather than written into.
    """
    report = progress or _no_progress
    data_dir = settings.data_dir
    if settings.marker.exists():
        report("迁移数据库结构", 0, 1)
        Database(settings.database_url).migrate()
        report("迁移数据库结构", 1, 1)
        return False
    if data_dir.exists() and any(data_dir.iterdir()):
        raise DeploymentError(
            f"数据目录 {data_dir} 不为空，且不是秒批数据目录（缺少 miaopi.json）；请指定一个空目录或已初始化的目录"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        from miaopi.city import generate_city

        generate_city(settings.city_dir, scale=settings.city_scale, seed=settings.city_seed, progress=report)
        if DEMO_CATALOG.exists():
            report("复制示范事项目录", 0, 1)
            shutil.copytree(DEMO_CATALOG, settings.catalog_dir)
            report("复制示范事项目录", 1, 1)
        report("创建数据库", 0, 1)
        database = Database(settings.database_url)
        database.migrate()
        database.dispose()
        report("创建数据库", 1, 1)
    except BaseException:
        # Leave no half-made directory behind: the next start begins afresh.
        for child in data_dir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        raise
    settings.marker.write_text(
        json.dumps(
            {"version": __version__, "city_scale": settings.city_scale, "city_seed": settings.city_seed},
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return True


@dataclass
class Deployment:
    settings: Settings
    database: Database
    exchange: SharingExchange
    catalog: Catalog

    @classmethod
    def open(cls, settings: Settings) -> Deployment:
        if not settings.marker.exists():
            raise DeploymentError(
                f"数据目录 {settings.data_dir} 尚未初始化；请先运行 miaopi init 或 miaopi serve"
            )
        try:
            resources = ResourceCatalogue.load(settings.city_dir / "resources.yaml")
        except CatalogueError as error:
            raise DeploymentError(f"信息资源目录有误：{error}") from None
        try:
            catalog = (
                Catalog.load(settings.catalog_dir, resources)
                if (settings.catalog_dir / "facts.yaml").exists()
                else Catalog.empty(settings.catalog_dir, resources)
            )
        except CatalogError as error:
            raise DeploymentError(f"事项目录 {settings.catalog_dir} 有错误，未启动：\n{error}") from None
        return cls(
            settings=settings,
            database=Database(settings.database_url),
            exchange=SharingExchange(resources, catalog.grants),
            catalog=catalog,
        )

    def info(self) -> dict[str, object]:
        marker = json.loads(self.settings.marker.read_text(encoding="utf-8"))
        return {"data_dir": str(self.settings.data_dir), "database": self.database.dialect, **marker}

    def close(self) -> None:
        self.database.dispose()
