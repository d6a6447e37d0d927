from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import miaopi.approval.writer as writer_module
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


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the case writer's uploads syncing reaches with ``os.fsync``, in order."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(writer_module.os, "fsync", fsync)
    return synced
