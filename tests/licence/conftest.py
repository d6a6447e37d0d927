"""The licence tests' world: the approval tests' deployment with the licence catalogue, served over
real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from miaopi.api import create_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from tests.approval.conftest import TODAY, World
from tests.licence.world import write_licence_world
from tests.livehttp import serving


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    data_dir = tmp_path / "data"
    write_licence_world(data_dir)
    deployment = Deployment.open(load_settings(data_dir, database_url), today=lambda: TODAY)
    with serving(create_app(deployment)) as http:
        yield World(deployment, http, data_dir)
    deployment.close()
