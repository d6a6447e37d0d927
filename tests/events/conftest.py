from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.events.world import World, serving_world


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    with serving_world(tmp_path / "data", database_url) as served:
        yield served
