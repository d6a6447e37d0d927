from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from miaopi.api import create_app
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from tests.approval.world import write_world
from tests.livehttp import serving

TODAY = dt.date(2026, 11, 22)


@dataclass
class World:
    deployment: Deployment
    http: httpx.Client
    data_dir: Path

    def token(self, subject: str) -> str:
        account = self.deployment.accounts.ensure_applicant(subject, verified=True)
        return self.deployment.accounts.issue_token(account.id)

    def headers(self, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject)}"}

    def officer(self, username: str, department: str) -> dict[str, str]:
        self.deployment.accounts.add_officer(username, department, "审核-password-1")
        return {"Authorization": f"Bearer {self.deployment.accounts.sign_in(username, '审核-password-1')}"}


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    data_dir = tmp_path / "data"
    write_world(data_dir)
    deployment = Deployment.open(load_settings(data_dir, database_url), today=lambda: TODAY)
    with serving(create_app(deployment)) as http:
        yield World(deployment, http, data_dir)
    deployment.close()
