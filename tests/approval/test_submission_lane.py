"""Submissions take a lane past the framework's layers (``api.applications.submission_lane``); what
the lane does not handle itself the whole application answers, exactly as without the lane."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from miaopi.api.applications import DecisionOut
from miaopi.approval.models import Application
from tests.approval.conftest import World
from tests.approval.test_applications import body
from tests.approval.world import ALICE, CAROL


@pytest.fixture
def framework_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests that went through the framework's stack."""
    calls: list[str] = []
    through = FastAPI.__call__

    async def counted(self: FastAPI, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            calls.append(f"{scope['method']} {scope['path']}")
        await through(self, scope, receive, send)

    monkeypatch.setattr(FastAPI, "__call__", counted)
    yield calls


def stored_cases(world: World) -> int:
    with world.deployment.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Application)) or 0)


def test_a_submission_with_its_length_declared_takes_the_lane(
    world: World, framework_calls: list[str]
) -> None:
    response = world.http.post("/api/v1/applications", json=body(ALICE, "lane"), headers=world.headers(ALICE))
    assert response.status_code == 201 and response.headers["content-type"] == "application/json"
    assert DecisionOut.model_validate_json(response.content).model_dump_json().encode() == response.content
    again = world.http.post("/api/v1/applications", json=body(ALICE, "lane"), headers=world.headers(ALICE))
    assert again.status_code == 200 and again.json()["case_no"] == response.json()["case_no"]
    assert framework_calls == []  # neither went through the framework
    world.http.get("/api/v1/health/live")
    assert framework_calls == ["GET /api/v1/health/live"]  # every other request does


def test_a_chunked_body_goes_through_the_application(world: World, framework_calls: list[str]) -> None:
    """No declared length: the application's body limit counts it as it arrives."""
    content = json.dumps(body(CAROL, "chunked")).encode()
    response = world.http.post(
        "/api/v1/applications",
        content=iter([content[:100], content[100:]]),  # httpx sends an iterator chunked
        headers={**world.headers(CAROL), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert framework_calls == ["POST /api/v1/applications"]
    assert stored_cases(world) == 1


@pytest.mark.parametrize(
    ("content", "token", "status", "code"),
    [
        (b'{"item_code": ', True, 422, "invalid_input"),  # broken JSON: the body replayed, read again
        (json.dumps(body(ALICE, "k", item_code="NO-SUCH-ITEM")).encode(), True, 422, "invalid_input"),
        (json.dumps(body(ALICE, "k")).encode(), False, 401, "http_401"),
    ],
)
def test_errors_are_the_applications_own_answers(
    world: World, framework_calls: list[str], content: bytes, token: bool, status: int, code: str
) -> None:
    headers = {"Content-Type": "application/json", **(world.headers(ALICE) if token else {})}
    response = world.http.post("/api/v1/applications", content=content, headers=headers)
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text
    assert framework_calls == ["POST /api/v1/applications"]
    assert stored_cases(world) == 0


def test_an_unexpected_error_is_answered_with_a_reference_and_logged(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(world.deployment.approval, "submit_async", broken)
    response = world.http.post("/api/v1/applications", json=body(ALICE, "bug"), headers=world.headers(ALICE))
    assert response.status_code == 500
    assert (
        response.json()["error"]["code"] == "internal_error" and "编号" in response.json()["error"]["message"]
    )
    assert "unexpected error, reference" in caplog.text and "a bug" not in response.text


def test_an_error_after_the_case_was_stored_answers_with_that_case(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application repeats the steps; the idempotency key makes the repeat find the stored case
    instead of storing a second one."""
    answer = DecisionOut.json_of
    failures: list[str] = []

    def fails_once(decision: Any) -> bytes:
        if not failures:
            failures.append(decision.case_no)
            raise RuntimeError("a bug after storing")
        return answer(decision)

    monkeypatch.setattr(DecisionOut, "json_of", staticmethod(fails_once))
    response = world.http.post("/api/v1/applications", json=body(ALICE, "once"), headers=world.headers(ALICE))
    assert response.status_code == 200, response.text  # the stored case, as for a repeated submission
    assert response.json()["case_no"] == failures[0]
    assert stored_cases(world) == 1
