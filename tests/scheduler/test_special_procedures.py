"""§45 special procedures over real HTTP: the clock stops, the public sees it, refusals are clear."""

from __future__ import annotations

import datetime as dt

from miaopi.approval.models import Application
from miaopi.clock import CaseClock
from miaopi.review.deadlines import _china
from miaopi.review.models import SpecialProcedure
from tests.approval.conftest import World
from tests.approval.world import FRANK
from tests.scheduler.conftest import Clock, jobs, officer, scheduler, submit, summary, utc


def test_a_hearing_stops_the_clock_and_restarts_it_when_it_ends(world: World) -> None:
    case_no = submit(world, FRANK, "a")["case_no"]
    scheduler(world, Clock(utc("2026-11-23T00:00:00"))).reconcile()
    reviewer = officer(world, "civil-r", "civil_affairs")
    other = officer(world, "civil-o", "civil_affairs")
    police = officer(world, "police-r", "public_security")
    url = f"/api/v1/review/cases/{case_no}/special-procedures"
    hearing = {"kind": "听证", "reason": "涉及第三人重大利益，依申请举行听证"}
    unclaimed = world.http.post(url, json=hearing, headers=reviewer)
    assert unclaimed.status_code == 409 and "请先认领" in unclaimed.json()["error"]["message"]
    assert world.http.post(f"/api/v1/review/cases/{case_no}/claim", headers=reviewer).status_code == 200
    bad_kind = world.http.post(url, json={"kind": "座谈", "reason": "x"}, headers=reviewer)
    assert bad_kind.status_code == 422 and "kind" in bad_kind.text
    no_reason = world.http.post(url, json={"kind": "听证", "reason": ""}, headers=reviewer)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    assert world.http.post(url, json=hearing, headers=police).status_code == 404  # another department
    assert world.http.post(url, json=hearing, headers=other).status_code == 409  # not the claimant
    started = world.http.post(url, json=hearing, headers=reviewer)
    assert started.status_code == 201, started.text
    procedure_id = started.json()["id"]
    # The clock is stopped: no deadline, nothing to remind or escalate; the public sees the step.
    progress = world.http.get(f"/api/v1/progress/{case_no}").json()
    assert progress["statutory_deadline"] is None
    assert progress["steps"][-1]["label"] == "听证程序开始，所需时间不计入审查期限（行政许可法第四十五条）"
    assert {state for _kind, _key, state in summary(world, case_no)} == {"cancelled"}
    second = world.http.post(url, json={"kind": "专家评审", "reason": "技术评审"}, headers=reviewer)
    assert second.status_code == 409 and "听证程序尚未结束" in second.json()["error"]["message"]
    deciding = world.http.post(
        f"/api/v1/review/cases/{case_no}/decision",
        json={"decision": "approve", "comment": "同意"},
        headers=reviewer,
    )
    assert deciding.status_code == 409 and "结束后才能作出决定" in deciding.json()["error"]["message"]
    end = f"{url}/{procedure_id}/end"
    assert world.http.post(end, json={"result": "听证完毕"}, headers=police).status_code == 404
    assert world.http.post(f"{url}/999999/end", json={"result": "x"}, headers=reviewer).status_code == 404
    ended = world.http.post(end, json={"result": "听证完毕，第三人无异议"}, headers=reviewer)
    assert ended.status_code == 200 and ended.json()["ended_by"] == "officer:civil-r"
    again = world.http.post(end, json={"result": "再次结束"}, headers=reviewer)
    assert again.status_code == 409 and "已经结束，不在进行中" in again.json()["error"]["message"]
    # The new deadline: the statutory limit with the hearing's days taken out, shown to the public,
    # and the jobs planned for it.
    with world.deployment.database.session() as session:
        case = session.get(Application, case_no)
        stored = session.get(SpecialProcedure, procedure_id)
        assert case is not None and stored is not None and stored.ended_at is not None
        clock = CaseClock(
            world.deployment.calendar,
            case.decision_date,
            world.deployment.catalog.items[case.item_code].statutory_limit,
        )
        start = max(_china(stored.started_at), case.decision_date + dt.timedelta(days=1))
        expected = clock.suspend(start, max(_china(stored.ended_at), start), "听证").statutory_deadline()
    assert expected is not None and expected >= dt.date(2026, 12, 18)
    progress = world.http.get(f"/api/v1/progress/{case_no}").json()
    assert progress["statutory_deadline"] == expected.isoformat()
    assert [step["step"] for step in progress["steps"]][-2:] == [
        "special_procedure",
        "special_procedure_ended",
    ]
    pending = {(kind, key) for kind, key, state in summary(world, case_no) if state == "pending"}
    assert pending == {("reminder", expected.isoformat()), ("escalation", expected.isoformat())}
    listed = world.http.get(url, headers=reviewer).json()
    assert [(item["kind"], item["result"]) for item in listed] == [("听证", "听证完毕，第三人无异议")]
    assert world.http.get(url, headers=police).status_code == 404
    decided = world.http.post(
        f"/api/v1/review/cases/{case_no}/decision",
        json={"decision": "approve", "comment": "同意"},
        headers=reviewer,
    )
    assert decided.status_code == 200
    closed = world.http.post(url, json=hearing, headers=reviewer)
    assert closed.status_code == 409 and "不在人工审核中" in closed.json()["error"]["message"]
    assert all(job.state != "pending" for job in jobs(world, case_no))
