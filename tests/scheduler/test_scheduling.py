"""Planning the legal clock's jobs: when a case enters review, when its clock changes, never twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from miaopi.api import create_app
from miaopi.approval.models import Application
from miaopi.config import load_settings
from miaopi.deployment import Deployment
from miaopi.scheduler import Scheduler, reminder_day
from miaopi.scheduler.models import CasePlan
from tests.approval.conftest import World
from tests.approval.world import ALICE, CAROL, FRANK
from tests.clock.conftest import PLAUSIBLE_2027
from tests.livehttp import serving
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

# 20 working days from Sunday 2026-11-22: Friday 2026-12-18. Three working days before it: Tuesday
# 2026-12-15, reminded at 09:00 Beijing (01:00 UTC); overdue from 2026-12-19 00:00 Beijing.
DEADLINE = "2026-12-18"


def test_reminder_day_counts_working_days_back_over_holidays(world: World) -> None:
    calendar = world.deployment.calendar
    assert reminder_day(calendar, dt.date(2026, 12, 18), 3) == dt.date(2026, 12, 15)
    # National Day 2025 (the example, backwards): 3 working days before Saturday 2025-10-11,
    # a working day, is 2025-09-30 — (09-30, 10-11] holds 10-09, 10-10 and 10-11.
    day = reminder_day(calendar, dt.date(2025, 10, 11), 3)
    assert calendar.working_days_between(day, dt.date(2025, 10, 11)) == 3 and calendar.is_working_day(day)
    assert day == dt.date(2025, 9, 30)


def test_a_case_entering_review_gets_a_reminder_and_an_escalation_once(world: World) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    automatic = submit(world, CAROL, "b", RENEWAL)["case_no"]  # approved at once: nothing to plan
    clock = Clock(utc("2026-11-23T00:00:00"))
    runner = scheduler(world, clock)
    assert runner.reconcile() == 1
    assert summary(world, case_no) == {("reminder", DEADLINE, "pending"), ("escalation", DEADLINE, "pending")}
    due = {job.kind: job.due_at.replace(tzinfo=dt.UTC) for job in jobs(world, case_no)}
    assert due == {"reminder": utc("2026-12-15T01:00:00"), "escalation": utc("2026-12-18T16:00:00")}
    assert jobs(world, automatic) == []
    # Planning again — by reconcile or directly — never duplicates.
    assert runner.reconcile() == 0
    with world.deployment.database.session() as session:
        case = session.get(Application, case_no)
        assert case is not None
        runner.plan(session, case)
        runner.plan(session, case)
    assert len(jobs(world, case_no)) == 2


def test_clock_changes_replan_and_a_decision_cancels(world: World) -> None:
    case_no = submit(world, ALICE, "a")["case_no"]
    scheduler(world, Clock(utc("2026-11-23T00:00:00"))).reconcile()
    reviewer = officer(world, "civil-r", "civil_affairs")
    head = officer(world, "civil-head", "civil_affairs", "supervisor")
    assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
    asked = world.http.post(
        f"/api/v1/review/cases/{case_no}/extension", json={"reason": "需现场核查"}, headers=reviewer
    )
    assert asked.status_code == 200
    extended = world.http.post(f"/api/v1/review/cases/{case_no}/extension/approve", headers=head)
    assert extended.status_code == 200, extended.text
    new_deadline = extended.json()["statutory_deadline"]
    calendar = world.deployment.calendar
    assert new_deadline == calendar.add_working_days(dt.date(2026, 12, 18), 10).isoformat() == "2027-01-04"
    # Replanned in the same transaction as the extension: the old jobs cancelled, new ones pending.
    assert summary(world, case_no) == {
        ("reminder", DEADLINE, "cancelled"),
        ("escalation", DEADLINE, "cancelled"),
        ("reminder", new_deadline, "pending"),
        ("escalation", new_deadline, "pending"),
    }
    # A correction stops the clock: nothing to remind or escalate while the applicant corrects.
    requested = world.http.post(
        f"/api/v1/review/cases/{case_no}/correction",
        json={"items": [{"name": "近期照片", "problem": "请上传照片"}]},
        headers=reviewer,
    )
    assert requested.status_code == 201
    assert {state for _kind, _key, state in summary(world, case_no)} == {"cancelled"}
    from tests.approval.test_applications import PHOTO

    corrected = world.http.post(
        f"/api/v1/applications/{case_no}/correction",
        json={"materials": [PHOTO]},
        headers=world.headers(ALICE),
    )
    assert corrected.status_code == 200, corrected.text
    with world.deployment.database.session() as session:
        case = session.get(Application, case_no)
        assert case is not None and case.statutory_deadline is not None
        after = case.statutory_deadline.isoformat()
    pending = {(kind, key) for kind, key, state in summary(world, case_no) if state == "pending"}
    assert pending == {("reminder", after), ("escalation", after)}
    decided = world.http.post(
        f"/api/v1/review/cases/{case_no}/decision",
        json={"decision": "approve", "comment": "材料齐全"},
        headers=reviewer,
    )
    assert decided.status_code == 200
    assert {state for _kind, _key, state in summary(world, case_no)} == {"cancelled"}
    # The closed case is not planned again.
    assert scheduler(world, Clock(utc("2026-11-23T00:00:00"))).reconcile() == 0


def test_a_renewal_in_review_gets_a_deemed_approval_at_the_old_licences_expiry(world: World) -> None:
    case_no = submit(world, ALICE, "r", RENEWAL)["case_no"]
    scheduler(world, Clock(utc("2026-11-23T00:00:00"))).reconcile()
    deemed = [job for job in jobs(world, case_no) if job.kind == "deemed_approval"]
    assert [(job.due_key, job.due_at.replace(tzinfo=dt.UTC)) for job in deemed] == [
        ("2026-12-15", utc("2026-12-15T16:00:00"))  # the first day after the expiry, 00:00 Beijing
    ]
    # reminder_days: 2 on this item: Wednesday 2026-12-16 for the Friday deadline.
    (reminder,) = [job for job in jobs(world, case_no) if job.kind == "reminder"]
    assert reminder.due_at.replace(tzinfo=dt.UTC) == utc("2026-12-16T01:00:00")


def test_reconcile_catches_changes_made_on_other_paths(world: World) -> None:
    case_no = submit(world, CAROL, "c", RENEWAL)["case_no"]  # renewed automatically: no jobs
    runner = scheduler(world, Clock(utc("2026-11-23T00:00:00")))
    assert runner.reconcile() == 0
    # PIPL Art. 24: the applicant asks for a person to review the automatic decision.
    asked = world.http.post(f"/api/v1/applications/{case_no}/human-review", headers=world.headers(CAROL))
    assert asked.status_code == 200, asked.text
    assert runner.reconcile() == 1
    assert summary(world, case_no) == {
        ("reminder", DEADLINE, "pending"),
        ("escalation", DEADLINE, "pending"),
        ("deemed_approval", "2027-06-30", "pending"),
    }
    # Closed by a path that tells nobody: the next round cancels what is left, and forgets the case.
    with world.deployment.database.session() as session:
        session.execute(update(Application).where(Application.case_no == case_no).values(status="rejected"))
    assert runner.reconcile() == 1
    assert {state for _kind, _key, state in summary(world, case_no)} == {"cancelled"}
    assert runner.reconcile() == 0
    with world.deployment.database.session() as session:
        assert session.get(CasePlan, case_no) is None


def test_deadlines_left_open_for_a_missing_year_are_filled_once_the_calendar_has_it(world: World) -> None:
    """Decided in late December, without the next year's holidays: the case goes to review with no
    deadline and nothing planned. Once the operator adds the year (calendar.yaml) and the platform
    restarts, the scheduler's first round gives the case its deadlines, a public step and an audit
    entry, and plans its jobs — once, however many rounds or runners follow. A closed case and one
    whose clock a special procedure has stopped are left alone."""

    def opened(today: dt.date) -> Deployment:
        return Deployment.open(
            load_settings(world.data_dir, world.deployment.database.url), today=lambda: today
        )

    override = world.data_dir / "calendar.yaml"
    override.unlink()  # the world's own 2027: not added yet
    december = opened(dt.date(2026, 12, 21))
    try:
        with serving(create_app(december)) as http:
            late = World(december, http, world.data_dir)
            in_review = submit(late, FRANK, "dec-review")
            approved = submit(late, CAROL, "dec-renewal", RENEWAL)
            heard = submit(late, FRANK, "dec-hearing")["case_no"]  # its clock stopped by a hearing
            reviewer = officer(late, "civil-r", "civil_affairs")
            assert http.post(f"/api/v1/review/cases/{heard}/claim", headers=reviewer).status_code == 200
            hearing = {"kind": "听证", "reason": "涉及第三人重大利益，依申请举行听证"}
            started = http.post(
                f"/api/v1/review/cases/{heard}/special-procedures", json=hearing, headers=reviewer
            )
            assert started.status_code == 201, started.text
        assert in_review["status"] == "review" and in_review["statutory_deadline"] is None
        assert approved["status"] == "approved" and approved["statutory_deadline"] is None
        assert december.scheduler.fill_open_deadlines() == 0  # this calendar still lacks 2027
    finally:
        december.close()
    case_no = in_review["case_no"]
    assert jobs(world, case_no) == []

    override.write_text(PLAUSIBLE_2027, encoding="utf-8")
    restarted = opened(dt.date(2027, 1, 4))
    try:
        clock = Clock(utc("2027-01-04T01:00:00"))
        runner = Scheduler(restarted.alerts, restarted.catalog, restarted.calendar, now=clock)
        other = Scheduler(restarted.alerts, restarted.catalog, restarted.calendar, now=clock)
        runner.run_once()
        other.run_once()
        runner.run_once()
        assert runner.fill_open_deadlines() == 0  # nothing left open
    finally:
        restarted.close()
    with world.deployment.database.session() as session:
        case = session.get(Application, case_no)
        assert case is not None and case.statutory_deadline is not None
        # 2026-12-21 + 20 working days: 12-22…12-31 (8), then 2027-01-04… (Jan 1–3 off in the test calendar)
        assert case.statutory_deadline == dt.date(2027, 1, 19)
        closed = session.get(Application, approved["case_no"])
        assert closed is not None and closed.statutory_deadline is None
        stopped = session.get(Application, heard)
        assert stopped is not None and stopped.statutory_deadline is None
    assert count_steps(world, heard, "deadline_set") == 0
    assert count_steps(world, case_no, "deadline_set") == 1
    assert count_audit(world, case_no, "clock.deadline_set") == 1
    assert {job.kind for job in jobs(world, case_no)} == {"reminder", "escalation"}
    progress = world.http.get(f"/api/v1/progress/{case_no}").json()
    assert progress["statutory_deadline"] == "2027-01-19"
    assert "确定法定办结期限：2027年01月19日" in progress["steps"][-1]["label"]
