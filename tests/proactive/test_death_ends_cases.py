"""身后“一件事” for proactive cases, over real HTTP on SQLite and PostgreSQL: a stored death ends the
deceased's cases not yet decided — in the event's transaction, once however often the death is
reported — with a step naming the event and an audit entry; no reminder or decision reaches them
afterwards. A decided or delivered case stays as it is, an application already under review is left
to its reviewer (noted in the audit log), and nobody else's cases change."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from miaopi.approval.models import Application
from miaopi.audit.models import AuditLogRecord
from miaopi.events.scan import scan_ages
from miaopi.notifications.models import Message
from miaopi.proactive.models import ProactiveCase, ProactiveStep
from tests.events.world import OLD, STRANGER, TODAY, World

ENDED_LABEL = "当事人已死亡，办件终止"


def _event(world: World, body: dict[str, Any], department: str, *, again: int = 0) -> dict[str, Any]:
    headers = world.officer(f"{department}-{body['id']}-{again}", department)
    response = world.http.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _death(event_id: str, subject: str, day: dt.date = TODAY) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "person.died",
        "subject": subject,
        "occurred_on": str(day),
        "payload": {"death_date": str(day)},
    }


def _birth(world: World, event_id: str, born: str) -> str:
    body = {
        "id": event_id,
        "type": "person.birth_registered",
        "subject": STRANGER,
        "occurred_on": "2026-11-20",
        "payload": {"birth_date": born},
    }
    (case_id,) = _event(world, body, "health")["cases"]
    return str(case_id)


def _confirmed(world: World, case_id: str) -> dict[str, Any]:
    parent = world.headers(STRANGER)
    assert world.http.post(f"/api/v1/proactive/cases/{case_id}/verify", headers=parent).json()["passed"]
    response = world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=parent)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _messages(world: World, recipient: str) -> list[str]:
    with world.deployment.database.session() as session:
        return list(
            session.scalars(
                select(Message.template).where(Message.recipient == recipient).order_by(Message.created_at)
            )
        )


def _steps(world: World, case_id: str) -> list[tuple[str, str, str]]:
    with world.deployment.database.session() as session:
        return [
            (step.step, step.label, step.actor)
            for step in session.scalars(
                select(ProactiveStep).where(ProactiveStep.case_id == case_id).order_by(ProactiveStep.id)
            )
        ]


def _audit(world: World, action: str) -> list[tuple[str, dict[str, Any]]]:
    with world.deployment.database.session() as session:
        return [
            (record.target, json.loads(record.details))
            for record in session.scalars(
                select(AuditLogRecord).where(AuditLogRecord.action == action).order_by(AuditLogRecord.seq)
            )
        ]


def _status(world: World, case_id: str) -> str:
    with world.deployment.database.session() as session:
        case = session.get(ProactiveCase, case_id)
        assert case is not None
        return case.status


def test_a_death_ends_the_open_cases_of_the_deceased_and_nothing_else(world: World) -> None:
    # The parent's cases: one delivered, one confirmed into 秒批 and waiting for a reviewer (a child born
    # before 2025 is worked out by hand), one opened and viewed, one just pushed.
    delivered = _birth(world, "birth-0001", "2026-11-18")
    assert _confirmed(world, delivered)["status"] == "delivered"
    in_review = _birth(world, "birth-0002", "2024-06-01")
    confirmed = _confirmed(world, in_review)
    assert (confirmed["status"], confirmed["decision"]) == ("confirmed", "review")
    viewed = _birth(world, "birth-0003", "2026-11-10")
    parent = world.headers(STRANGER)
    assert world.http.get(f"/api/v1/proactive/cases/{viewed}", headers=parent).json()["status"] == "viewed"
    pushed = _birth(world, "birth-0004", "2026-11-01")
    # Someone else's open case.
    assert (
        scan_ages(world.deployment.catalog, world.deployment.exchange, world.deployment.events, TODAY).cases
        == 1
    )
    (other,) = [c["id"] for c in world.http.get("/api/v1/proactive/cases", headers=world.headers(OLD)).json()]
    delivered_steps = _steps(world, delivered)
    told = _messages(world, STRANGER)
    assert told.count("proactive.prepared") == 4

    stored = _event(world, _death("death-0001", STRANGER), "public_security")
    assert stored["duplicate"] is False

    # The subject's view: ended, said plainly; nothing more can be done with the case.
    listed = {c["id"]: c for c in world.http.get("/api/v1/proactive/cases", headers=parent).json()}
    assert {case_id: c["status"] for case_id, c in listed.items()} == {
        delivered: "delivered",
        in_review: "ended",
        viewed: "ended",
        pushed: "ended",
    }
    assert listed[pushed]["status_label"] == "已终止（当事人已死亡）"
    assert listed[pushed]["interactions"] == 0
    opened = world.http.get(f"/api/v1/proactive/cases/{pushed}", headers=parent).json()
    assert opened["status"] == "ended" and opened["interactions"] == 0  # looking is not acting any more
    steps = world.http.get(f"/api/v1/proactive/cases/{viewed}/steps", headers=parent).json()
    assert (steps[-1]["step"], steps[-1]["label"]) == ("ended", ENDED_LABEL)
    refused = world.http.post(f"/api/v1/proactive/cases/{viewed}/verify", headers=parent)
    assert refused.status_code == 409 and "已终止" in refused.json()["error"]["message"]

    # Each ended case: a step naming the event, an audit entry with the event and the day of death.
    for case_id in (in_review, viewed, pushed):
        assert _steps(world, case_id)[-1] == ("ended", ENDED_LABEL, "event:public_security:death-0001")
    ended = dict(_audit(world, "proactive.ended"))
    assert set(ended) == {in_review, viewed, pushed}
    assert ended[pushed] == {
        "reason": "person.died",
        "event": "public_security:death-0001",
        "death_date": str(TODAY),
    }
    # The application under review is not withdrawn: it stays with the reviewer, told in its audit trail.
    case_no = confirmed["case_no"]
    assert listed[in_review]["case_no"] == case_no and listed[in_review]["decision"] == "review"
    with world.deployment.database.session() as session:
        application = session.get(Application, case_no)
        assert application is not None and application.status == "review"
    (noted,) = _audit(world, "proactive.applicant_died")
    assert noted == (case_no, {**ended[in_review], "proactive_case": in_review})

    # Untouched: the delivered case, and the other person's case.
    assert _steps(world, delivered) == delivered_steps
    assert _status(world, other) == "notified"

    # No reminder (nor expiry) afterwards; the other person is still reminded.
    proactive = world.deployment.proactive
    assert proactive.sweep(TODAY + dt.timedelta(days=14)) == (1, 0)  # OLD's case only
    assert proactive.sweep(TODAY + dt.timedelta(days=61)) == (0, 1)  # OLD's case expires
    assert _messages(world, STRANGER) == told
    assert {_status(world, case_id) for case_id in (in_review, viewed, pushed)} == {"ended"}

    # Figures: ended apart from declined and expired; the delivered case still counts as completed.
    figures = {f["trigger_id"]: f for f in world.http.get("/api/v1/proactive/stats").json()}
    births = figures["newborn-childcare-subsidy"]
    assert (births["detected"], births["completed"], births["ended"]) == (4, 1, 3)
    assert (births["declined"], births["expired"], births["confirmed"]) == (0, 0, 2)
    assert figures["shanghai-elderly-allowance-at-65"]["ended"] == 0


def test_a_death_reported_again_ends_nothing_twice(world: World) -> None:
    assert (
        scan_ages(world.deployment.catalog, world.deployment.exchange, world.deployment.events, TODAY).cases
        == 1
    )
    old = world.headers(OLD)
    (case_id,) = [c["id"] for c in world.http.get("/api/v1/proactive/cases", headers=old).json()]

    # A death dated after today is a data error: nothing ends.
    future = _event(world, _death("death-9999", OLD, TODAY + dt.timedelta(days=3)), "health")
    assert future["duplicate"] is False and _status(world, case_id) == "notified"

    _event(world, _death("death-0001", OLD), "public_security")
    assert _status(world, case_id) == "ended"
    after_first = (_steps(world, case_id), _audit(world, "proactive.ended"))
    assert [step for step, _label, _actor in after_first[0]].count("ended") == 1

    # The same message redelivered, and the other department's report of the same death.
    assert _event(world, _death("death-0001", OLD), "public_security", again=1)["duplicate"] is True
    assert _event(world, _death("death-0002", OLD), "health")["duplicate"] is False
    assert (_steps(world, case_id), _audit(world, "proactive.ended")) == after_first
    (case,) = world.http.get("/api/v1/proactive/cases", headers=old).json()
    assert (case["status"], case["reminders"]) == ("ended", 0)
    assert world.deployment.proactive.sweep(TODAY + dt.timedelta(days=7)) == (0, 0)
    assert _messages(world, OLD) == ["proactive.prepared"]
