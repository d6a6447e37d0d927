"""服务跟踪 over real HTTP: a pushed case finished in three interactions, declined, expired, reminded;
a subject sees only their own cases; figures per trigger."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from miaopi.licence.models import IssuedLicence
from miaopi.notifications.models import Message
from miaopi.proactive.models import CourierRecord, ProactiveCase
from tests.events.world import (
    BUILDER,
    OLD,
    REP,
    REP2,
    SALON,
    STRANGER,
    TODAY,
    World,
    name_change,
)


def _pushed(world: World, event_id: str = "mr-0001") -> str:
    market = world.officer(f"mr-{event_id}", "market_regulation")
    response = world.http.post("/api/v1/events", json=name_change(event_id), headers=market)
    assert response.status_code == 201, response.text
    (case_id,) = response.json()["cases"]
    return str(case_id)


def _messages(world: World, recipient: str) -> list[str]:
    with world.deployment.database.session() as session:
        return list(
            session.scalars(
                select(Message.template).where(Message.recipient == recipient).order_by(Message.created_at)
            )
        )


def test_three_interactions_from_push_to_delivered_licence(world: World) -> None:
    case_id = _pushed(world)
    rep = world.headers(REP)
    assert _messages(world, REP) == ["proactive.prepared"]

    listed = world.http.get("/api/v1/proactive/cases", headers=rep).json()
    assert [case["id"] for case in listed] == [case_id]
    viewed = world.http.get(f"/api/v1/proactive/cases/{case_id}", headers=rep).json()
    assert viewed["status"] == "viewed" and viewed["interactions"] == 1
    # Pre-filled entirely from shared data: the form, and every material fetched or held.
    assert viewed["form"] == {"confirmed": True} and viewed["form_fields_prefilled"] == 1
    assert {m["status"] for m in viewed["materials"]} <= {"shared", "licence"}
    assert viewed["materials_waived"] == 3
    assert viewed["replaced_licence"]["licence_number"] == "ZJ-370200-0001"
    assert viewed["subject"].count("*") == 10  # masked
    # A second look is not another interaction.
    assert world.http.get(f"/api/v1/proactive/cases/{case_id}", headers=rep).json()["interactions"] == 1

    verified = world.http.post(f"/api/v1/proactive/cases/{case_id}/verify", headers=rep)
    assert verified.status_code == 200 and verified.json()["passed"] is True
    assert verified.json()["case"]["status"] == "verified"

    confirmed = world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=rep)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["status"] == "delivered" and body["decision"] == "approved"
    assert body["interactions"] == 3
    assert body["case_no"] is not None and body["successor_licence"] is not None
    assert body["replaced_licence"]["revocation"] == "superseded"  # not issued by Miaopi: marked on the case

    steps = [
        s["step"] for s in world.http.get(f"/api/v1/proactive/cases/{case_id}/steps", headers=rep).json()
    ]
    assert steps == [
        "detected",
        "notified",
        "viewed",
        "verified",
        "confirmed",
        "decided",
        "courier",
        "delivered",
    ]
    with world.deployment.database.session() as session:
        courier = session.scalars(select(CourierRecord).where(CourierRecord.case_id == case_id)).one()
        assert courier.old_licence == "ZJ-370200-0001" and courier.new_licence == body["successor_licence"]
        assert (courier.collect_status, courier.deliver_status) == ("scheduled", "scheduled")
        issued = session.get(IssuedLicence, body["successor_licence"])
        assert issued is not None and issued.holder == BUILDER and issued.case_no == body["case_no"]
    assert _messages(world, REP) == ["proactive.prepared", "proactive.decided"]

    # The 秒批 case is the applicant's too: the enterprise sees it.
    stored = world.http.get(f"/api/v1/applications/{body['case_no']}", headers=world.headers(BUILDER))
    assert stored.status_code == 200 and stored.json()["status"] == "approved"

    figures = {f["trigger_id"]: f for f in world.http.get("/api/v1/proactive/stats").json()}
    construction = figures["construction-qualification-change"]
    assert (
        construction["detected"],
        construction["pushed"],
        construction["confirmed"],
        construction["completed"],
    ) == (
        1,
        1,
        1,
        1,
    )
    assert construction["median_interactions"] == 3
    assert construction["materials_not_needed"] == 3 and construction["form_fields_not_needed"] == 1


def test_a_replaced_licence_issued_by_miaopi_is_revoked(world: World) -> None:
    first = _pushed(world)
    rep = world.headers(REP)
    world.http.post(f"/api/v1/proactive/cases/{first}/verify", headers=rep)
    successor = world.http.post(f"/api/v1/proactive/cases/{first}/confirm", headers=rep).json()[
        "successor_licence"
    ]
    # A later change of legal representative: the certificate to replace is now the one Miaopi issued.
    market = world.officer("mr-later", "market_regulation")
    later = {
        "id": "mr-0100",
        "type": "enterprise.legal_rep_changed",
        "subject": BUILDER,
        "occurred_on": "2026-11-21",
        "payload": {"change_date": "2026-11-21"},
    }
    (second,) = world.http.post("/api/v1/events", json=later, headers=market).json()["cases"]
    viewed = world.http.get(f"/api/v1/proactive/cases/{second}", headers=rep).json()
    assert viewed["replaced_licence"]["licence_number"] == successor
    world.http.post(f"/api/v1/proactive/cases/{second}/verify", headers=rep)
    done = world.http.post(f"/api/v1/proactive/cases/{second}/confirm", headers=rep).json()
    assert done["replaced_licence"]["revocation"] == "revoked"
    with world.deployment.database.session() as session:
        old = session.get(IssuedLicence, successor)
        assert old is not None and old.status == "revoked"
        new = session.get(IssuedLicence, done["successor_licence"])
        assert new is not None and new.status == "valid"


def test_another_subject_gets_404_and_sees_nothing(world: World) -> None:
    case_id = _pushed(world)
    for other in (STRANGER, REP2, SALON):
        headers = world.headers(other)
        assert world.http.get("/api/v1/proactive/cases", headers=headers).json() == []
        assert world.http.get(f"/api/v1/proactive/cases/{case_id}", headers=headers).status_code == 404
        assert world.http.get(f"/api/v1/proactive/cases/{case_id}/steps", headers=headers).status_code == 404
        for action in ("verify", "confirm", "decline"):
            response = world.http.post(f"/api/v1/proactive/cases/{case_id}/{action}", headers=headers)
            assert response.status_code == 404, (other, action)
    assert (
        world.http.get(
            "/api/v1/proactive/cases/WG-20261122-0000000000", headers=world.headers(REP)
        ).status_code
        == 404
    )
    with world.deployment.database.session() as session:
        case = session.get(ProactiveCase, case_id)
        assert case is not None and case.status == "notified" and case.interactions == 0
    # The enterprise's own account sees its case.
    assert [
        c["id"] for c in world.http.get("/api/v1/proactive/cases", headers=world.headers(BUILDER)).json()
    ] == [case_id]


def test_confirming_needs_the_face_check_first(world: World) -> None:
    case_id = _pushed(world)
    refused = world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=world.headers(REP))
    assert refused.status_code == 409
    assert "身份核验" in refused.json()["error"]["message"]


def test_declined_cases_are_closed(world: World) -> None:
    case_id = _pushed(world)
    rep = world.headers(REP)
    declined = world.http.post(
        f"/api/v1/proactive/cases/{case_id}/decline", headers=rep, json={"reason": "拟注销该资质"}
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert declined.json()["interactions"] == 1
    assert world.http.post(f"/api/v1/proactive/cases/{case_id}/verify", headers=rep).status_code == 409
    assert world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=rep).status_code == 409
    figures = {f["trigger_id"]: f for f in world.http.get("/api/v1/proactive/stats").json()}
    assert figures["construction-qualification-change"]["declined"] == 1
    assert figures["construction-qualification-change"]["completed"] == 0


def test_reminders_then_expiry(world: World) -> None:
    case_id = _pushed(world)
    proactive = world.deployment.proactive
    assert proactive.sweep(TODAY + dt.timedelta(days=3)) == (0, 0)  # remind_every: 7 days
    assert proactive.sweep(TODAY + dt.timedelta(days=7)) == (1, 0)
    assert proactive.sweep(TODAY + dt.timedelta(days=8)) == (0, 0)  # not again the next day
    assert _messages(world, REP) == ["proactive.prepared", "proactive.reminder"]
    assert proactive.sweep(TODAY + dt.timedelta(days=31)) == (0, 1)  # respond_within: 30 days
    with world.deployment.database.session() as session:
        case = session.get(ProactiveCase, case_id)
        assert case is not None and case.status == "expired" and case.reminders == 1
    refused = world.http.post(f"/api/v1/proactive/cases/{case_id}/verify", headers=world.headers(REP))
    assert refused.status_code == 409 and "已逾期" in refused.json()["error"]["message"]
    figures = {f["trigger_id"]: f for f in world.http.get("/api/v1/proactive/stats").json()}
    assert figures["construction-qualification-change"]["expired"] == 1


def test_turning_65_with_shanghai_hukou_prepares_the_allowance(world: World) -> None:
    from miaopi.events.scan import scan_ages

    deployment = world.deployment
    result = scan_ages(deployment.catalog, deployment.exchange, deployment.events, TODAY)
    assert (result.found, result.stored, result.cases) == (2, 2, 1)  # OLD and OLD_SZ; only OLD is in Shanghai
    old = world.headers(OLD)
    (case,) = world.http.get("/api/v1/proactive/cases", headers=old).json()
    assert case["target_kind"] == "policy" and case["target"] == "shanghai-elderly-allowance"
    assert case["amount"] == 75
    world.http.get(f"/api/v1/proactive/cases/{case['id']}", headers=old)
    world.http.post(f"/api/v1/proactive/cases/{case['id']}/verify", headers=old)
    done = world.http.post(
        f"/api/v1/proactive/cases/{case['id']}/confirm",
        headers=old,
        json={"bank": "中国工商银行上海市分行", "account": "6222020200001234567"},
    ).json()
    assert done["status"] == "decided" and done["decision"] == "approved" and done["interactions"] == 3
    again = scan_ages(deployment.catalog, deployment.exchange, deployment.events, TODAY)
    assert (again.stored, again.duplicates, again.cases) == (0, 2, 0)


def test_the_department_records_the_courier_legs(world: World) -> None:
    case_id = _pushed(world)
    rep = world.headers(REP)
    world.http.post(f"/api/v1/proactive/cases/{case_id}/verify", headers=rep)
    world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=rep)
    url = f"/api/v1/proactive/cases/{case_id}/courier"
    assert world.http.post(url, json={"leg": "collected"}, headers=rep).status_code == 403
    health = world.officer("health1", "health")
    assert world.http.post(url, json={"leg": "collected"}, headers=health).status_code == 404
    housing = world.officer("zj1", "housing_construction")
    assert world.http.post(url, json={"leg": "lost"}, headers=housing).status_code == 422
    collected = world.http.post(url, json={"leg": "collected"}, headers=housing)
    assert collected.status_code == 200 and collected.json()["collect_status"] == "collected"
    assert world.http.post(url, json={"leg": "collected"}, headers=housing).status_code == 409
    delivered = world.http.post(url, json={"leg": "delivered"}, headers=housing).json()
    assert (delivered["collect_status"], delivered["deliver_status"]) == ("collected", "delivered")
    steps = world.http.get(f"/api/v1/proactive/cases/{case_id}/steps", headers=rep).json()
    assert [s["step"] for s in steps].count("courier") == 3
