"""A 老年综合津贴 proactive case, as the subject gets it: opened by the daily age scan, viewed, and
face-checked — ready to confirm."""

from __future__ import annotations

from miaopi.events.scan import scan_ages
from tests.events.world import OLD, TODAY, World

POLICY = "shanghai-elderly-allowance"
ACCOUNT = {"bank": "中国工商银行上海市分行", "account": "6222 0202 0000 1234 567"}


def verified_case(world: World) -> str:
    deployment = world.deployment
    assert scan_ages(deployment.catalog, deployment.exchange, deployment.events, TODAY).cases == 1
    headers = world.headers(OLD)
    (case,) = world.http.get("/api/v1/proactive/cases", headers=headers).json()
    world.http.get(f"/api/v1/proactive/cases/{case['id']}", headers=headers)  # interaction 1: the view
    assert world.http.post(f"/api/v1/proactive/cases/{case['id']}/verify", headers=headers).json()["passed"]
    return str(case["id"])
