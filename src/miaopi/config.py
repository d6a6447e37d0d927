"""Deployment settings: where data lives and which stores to use.

Settings come from arguments first, then environment variables (``MIAOPI_*``), then defaults for the
embedded deployment (SQLite + Parquet/DuckDB in one data directory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path("data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    demo_mode: bool = True
    city_scale: str = "demo"
    city_seed: int = 20261122
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def city_dir(self) -> Path:
        return self.data_dir / "city"

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalog"

    @property
    def marker(self) -> Path:
        return self.data_dir / "miaopi.json"


def load_settings(data_dir: Path | str | None = None, database_url: str | None = None) -> Settings:
    resolved = Path(data_dir or os.environ.get("MIAOPI_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    url = database_url or os.environ.get("MIAOPI_DATABASE_URL") or f"sqlite:///{resolved / 'miaopi.db'}"
    demo = os.environ.get("MIAOPI_DEMO_MODE", "1").lower() not in ("0", "false", "no")
    scale = os.environ.get("MIAOPI_CITY_SCALE", "demo")
    seed = int(os.environ.get("MIAOPI_CITY_SEED", "20261122"))
    return Settings(data_dir=resolved, database_url=url, demo_mode=demo, city_scale=scale, city_seed=seed)
