from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from miaopi.api import create_app
from miaopi.approval.models import CaseStep
from miaopi.audit.models import AuditLogRecord
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.scheduler import Scheduler
from miaopi.scheduler.models import Job
from tests.approval.conftest import TODAY, World
from tests.approval.world import ITEM
from tests.livehttp import serving
from tests.scheduler.world import RENEWAL, write_renewal_world

PASSWORD = "审核-password-1"


class Clock:
    """An injectable, movable ``now`` (UTC)."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment

    def at(self, moment: dt.datetime) -> Clock:
        self.moment = moment
        return self


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    data_dir = tmp_path / "data"
    write_renewal_world(data_dir)
    deployment = Deployment.open(load_settings(data_dir, database_url), today=lambda: TODAY)
    with serving(create_app(deployment)) as http:
        yield World(deployment, http, data_dir)
    deployment.close()


def scheduler(world: World, clock: Clock, **options: Any) -> Scheduler:
    d = world.deployment
    return Scheduler(d.alerts, d.catalog, d.calendar, now=clock, **options)


def officer(world: World, username: str, department: str, role: str = "reviewer") -> dict[str, str]:
    world.deployment.accounts.add_officer(username, department, PASSWORD, role)
    return {"Authorization": f"Bearer {world.deployment.accounts.sign_in(username, PASSWORD)}"}


def submit(world: World, applicant: str, key: str, item: str = ITEM) -> dict[str, Any]:
    if item == RENEWAL:
        body: dict[str, Any] = {"item_code": RENEWAL, "applicant": {"id": applicant}, "idempotency_key": key}
    else:
        body = {
            "item_code": ITEM,
            "applicant": {"id": applicant},
            "form": {"phone": "13800000000"},
            "materials": [],
            "idempotency_key": key,
        }
    response = world.http.post("/api/v1/applications", json=body, headers=world.headers(applicant))
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def jobs(world: World, case_no: str | None = None, state: str | None = None) -> list[Job]:
    return world.deployment.scheduler.store.jobs(target=case_no, state=state)


def summary(world: World, case_no: str) -> set[tuple[str, str, str]]:
    return {(job.kind, job.due_key, job.state) for job in jobs(world, case_no)}


def count_steps(world: World, case_no: str, step: str) -> int:
    with world.deployment.database.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(CaseStep)
                .where(CaseStep.case_no == case_no, CaseStep.step == step)
            )
            or 0
        )


def count_audit(world: World, case_no: str, action: str) -> int:
    with world.deployment.database.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditLogRecord)
                .where(AuditLogRecord.target == case_no, AuditLogRecord.action == action)
            )
            or 0
        )
