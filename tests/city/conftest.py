from pathlib import Path

import pytest

from miaopi.city import CityManifest, generate_city


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> CityManifest:
    return generate_city(tmp_path_factory.mktemp("city") / "demo", "demo")


@pytest.fixture(scope="session")
def demo_dir(demo_city: CityManifest) -> Path:
    return demo_city.out
