"""What the jobs do when they come due — reminders, escalation, deemed approval — once each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from miaopi.approval.models import Application
from miaopi.audit import AuditLog
from miaopi.notifications.models import Message
from miaopi.review.models import DeadlineAlert
from miaopi.scheduler import Claimed
from tests.approval.conftest import World
from tests.approval.world import ALICE, EVE, FRANK
from tests.scheduler.conftest import (
    Clock,
    count_audit,
    count_steps,
    jobs,
    officer,
    scheduler,
    submit,
    summary,
    utc,
)
from tests.scheduler.world import RENEWAL


def inbox(world: World, recipient: str) -> list[tuple[str, str]]:
    with world.deployment.database.session() as session:
        return [
            (message.template, message.body)
            for message in session.scalars(select(Message).where(Message.recipient == recipient))
        ]


def alerts(world: World, kind: str) -> list[DeadlineAlert]:
    with world.deployment.database.session() as session:
        return list(session.scalars(select(DeadlineAlert).where(DeadlineAlert.kind == kind)))


def test_reminder_then_escalation_to_the_department_head(world: World) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    clock = Clock(utc("2026-11-23T00:00:00"))
    runner = scheduler(world, clock)
    assert runner.run_once().done == 0  # planned, nothing due yet
    reviewer = officer(world, "civil-r", "civil_affairs")
    other = officer(world, "civil-o", "civil_affairs")
    head = officer(world, "civil-head", "civil_affairs", "supervisor")
    police_head = officer(world, "police-head", "public_security", "supervisor")
    # Tuesday 2026-12-15, 09:00 Beijing: three working days before the deadline.
    clock.at(utc("2026-12-15T00:59:00"))
    assert runner.run_once().done == 0
    clock.at(utc("2026-12-15T01:00:00"))
    report = runner.run_once()
    assert report.done == 1 and "法定期限 2026-12-18 将到" in report.outcomes[0]
    (reminder,) = alerts(world, "reminder")
    assert reminder.addressed_to == "department" and reminder.deadline == dt.date(2026, 12, 18)
    listed = world.http.get("/api/v1/review/reminders", headers=reviewer).json()
    assert [(item["case_no"], item["kind"], item["deadline"]) for item in listed] == [
        (case_no, "reminder", "2026-12-18")
    ]
    assert count_audit(world, case_no, "review.reminded") == 1
    assert count_steps(world, case_no, "escalated") == 0
    # Still undecided when Saturday 2026-12-19 begins in Beijing: escalated, once.
    clock.at(utc("2026-12-18T16:00:00"))
    assert runner.run_once().done == 1
    assert runner.run_once().done == 0
    assert count_steps(world, case_no, "escalated") == 1
    assert count_audit(world, case_no, "review.escalated") == 1
    # The department head is told through the notifications outbox; nobody else is.
    assert inbox(world, "officer:civil-head") == [
        (
            "review.escalation",
            f"办件 {case_no}（老年人优待证办理）已超过法定期限 2026-12-18，逾期 1 个工作日，请部门负责人督办。",
        )
    ]
    assert inbox(world, "officer:police-head") == [] and inbox(world, "officer:civil-r") == []
    progress = world.http.get(f"/api/v1/progress/{case_no}").json()
    assert progress["steps"][-1]["label"] == "超过法定办理期限未作决定，已提请部门负责人督办"
    (escalation,) = world.http.get("/api/v1/review/escalations", headers=head).json()
    assert escalation["case_no"] == case_no and escalation["case_status"] == "review"
    refused = world.http.get("/api/v1/review/escalations", headers=other)
    assert refused.status_code == 403 and "负责人" in refused.json()["error"]["message"]
    assert world.http.get("/api/v1/review/escalations", headers=police_head).json() == []
    assert world.http.get("/api/v1/review/reminders", headers=police_head).json() == []
    # Once decided, the escalation leaves the open list (still listed with open=false).
    world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer)
    world.http.post(
        f"/api/v1/review/cases/{case_no}/decision",
        json={"decision": "approve", "comment": "同意"},
        headers=reviewer,
    )
    assert world.http.get("/api/v1/review/escalations", headers=head).json() == []
    closed = world.http.get("/api/v1/review/escalations?open=false", headers=head).json()
    assert [item["case_status"] for item in closed] == ["approved"]
    with world.deployment.database.session() as session:
        assert AuditLog().verify(session).ok


def test_a_reminder_goes_to_the_claimant(world: World) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    reviewer = officer(world, "civil-r", "civil_affairs")
    other = officer(world, "civil-o", "civil_affairs")
    assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
    scheduler(world, Clock(utc("2026-12-15T01:00:00"))).run_once()
    (reminder,) = alerts(world, "reminder")
    assert reminder.addressed_to == "officer:civil-r"
    assert [template for template, _body in inbox(world, "officer:civil-r")] == ["review.reminder"]
    assert inbox(world, "officer:civil-o") == []
    assert len(world.http.get("/api/v1/review/reminders", headers=reviewer).json()) == 1
    assert world.http.get("/api/v1/review/reminders", headers=other).json() == []


def test_a_renewal_undecided_at_the_old_licences_expiry_is_deemed_approved(world: World) -> None:
    case_no = submit(world, ALICE, "r", RENEWAL)["case_no"]
    clock = Clock(utc("2026-12-15T15:59:00"))  # 23:59 in Beijing on the last valid day
    runner = scheduler(world, clock)
    assert runner.run_once().done == 0
    clock.at(utc("2026-12-15T16:00:00"))
    report = runner.run_once()
    assert report.outcomes == ["原许可有效期 2026-12-15 届满，视为准予延续"]
    with world.deployment.database.session() as session:
        case = session.get(Application, case_no)
        assert case is not None and case.status == "approved"
        assert case.reviewed_by == "system:scheduler"
        assert case.review_legal_basis == "《中华人民共和国行政许可法》第五十条第二款"
        (entry,) = [
            e for e in AuditLog().entries(session, target=case_no) if e.action == "review.deemed_approved"
        ]
        assert entry.actor == "system:scheduler" and entry.outcome == "approved"
    progress = world.http.get(f"/api/v1/progress/{case_no}").json()
    assert progress["status"] == "approved"
    assert progress["steps"][-1]["label"] == "视为准予延续（原许可有效期届满前未作决定，行政许可法第五十条）"
    applicant = world.http.get(f"/api/v1/applications/{case_no}", headers=world.headers(ALICE)).json()
    assert applicant["status"] == "approved"
    # Closed through the review closing path: its reminder and escalation are cancelled.
    assert summary(world, case_no) == {
        ("deemed_approval", "2026-12-15", "done"),
        ("reminder", "2026-12-18", "cancelled"),
        ("escalation", "2026-12-18", "cancelled"),
    }
    clock.at(utc("2027-01-10T00:00:00"))
    assert runner.run_once().done == 0
    assert count_audit(world, case_no, "review.deemed_approved") == 1


def test_no_deemed_approval_while_the_applicant_corrects_or_after_a_decision(world: World) -> None:
    waiting = submit(world, EVE, "w", RENEWAL)["case_no"]  # expires 2026-12-10
    decided = submit(world, ALICE, "d", RENEWAL)["case_no"]
    runner = scheduler(world, Clock(utc("2026-11-23T00:00:00")))
    assert runner.reconcile() == 2
    reviewer = officer(world, "market-r", "market_regulation")
    for case_no in (waiting, decided):
        assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
    requested = world.http.post(
        f"/api/v1/review/cases/{waiting}/correction",
        json={"items": [{"name": "经营场所", "problem": "请说明经营场所是否变化"}]},
        headers=reviewer,
    )
    assert requested.status_code == 201
    refused = world.http.post(
        f"/api/v1/review/cases/{decided}/decision",
        json={
            "decision": "reject",
            "comment": "占道经营",
            "legal_basis": "《城市市容和环境卫生管理条例》第十四条",
        },
        headers=reviewer,
    )
    assert refused.status_code == 200
    assert [job.state for job in jobs(world, decided) if job.kind == "deemed_approval"] == ["cancelled"]
    runner.now = Clock(utc("2027-01-01T00:00:00"))
    report = runner.run_once()
    assert report.outcomes == ["未视为准予延续：办件状态为 correction"]
    with world.deployment.database.session() as session:
        statuses = dict(
            session.execute(
                select(Application.case_no, Application.status).where(
                    Application.case_no.in_((waiting, decided))
                )
            ).all()
        )
    assert statuses == {waiting: "correction", decided: "rejected"}


def test_a_failing_job_is_retried_with_backoff_and_ends_failed_with_its_error(world: World) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    d = world.deployment

    def unreachable(session: object, job: Claimed, at: dt.datetime) -> str:
        d.alerts.remind(session, job.target, dt.date.fromisoformat(job.due_key), at)  # type: ignore[arg-type]
        raise ConnectionError("短信网关不可用")

    clock = Clock(utc("2026-12-15T02:00:00"))
    runner = scheduler(
        world, clock, handlers={"reminder": unreachable}, max_attempts=3, backoff=dt.timedelta(minutes=1)
    )
    assert runner.run_once().retried == 1
    (reminder,) = [job for job in jobs(world, case_no) if job.kind == "reminder"]
    assert reminder.state == "pending" and reminder.attempts == 1
    assert reminder.last_error == "ConnectionError: 短信网关不可用"
    assert reminder.due_at.replace(tzinfo=dt.UTC) == utc("2026-12-15T02:01:00")
    assert runner.run_once().retried == 0  # not due again yet
    clock.at(utc("2026-12-15T02:01:00"))
    assert runner.run_once().retried == 1
    clock.at(utc("2026-12-15T02:03:00"))  # the second backoff is twice the first
    assert runner.run_once().failed == 1
    (reminder,) = [job for job in jobs(world, case_no) if job.kind == "reminder"]
    assert reminder.state == "failed" and reminder.attempts == 3 and reminder.finished_at is not None
    # Every failed attempt's effect was rolled back with it.
    assert alerts(world, "reminder") == []
    assert count_audit(world, case_no, "review.reminded") == 0
    with d.database.session() as session:
        assert session.scalar(select(func.count()).select_from(DeadlineAlert)) == 0
    # Operators see it.
    health = world.http.get("/api/v1/health").json()
    assert health["status"] == "degraded"
    assert any(
        "1 个法定时限任务" in problem and "--state failed" in problem for problem in health["problems"]
    )
