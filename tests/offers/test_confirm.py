"""The subject confirms (with a payee account) or declines its own offers over real HTTP; declines
and expiries promote waiting offers in the declared order; confirmed offers become benefit records,
paid by the implementing department and listed, masked, in the public notice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from miaopi.audit import AuditLog
from miaopi.notifications.models import Message
from miaopi.offers import ExpiryRun
from miaopi.offers.models import Benefit, Offer
from tests.offers.conftest import World
from tests.offers.world import FIRST_TIE, LARGE, OLD, SECOND_TIE, SMALL_LOW, VERY_OLD, YOUNG

ACCOUNT = {"bank": "中国工商银行上海市分行", "account": "6222 0212 3456 7890 123"}


def status(world: World, policy: str = "refund") -> dict[str, str]:
    with world.deployment.database.session() as session:
        return {
            offer.subject: offer.status
            for offer in session.scalars(select(Offer).where(Offer.policy_id == policy))
        }


def offer_id(world: World, subject: str, policy: str = "refund") -> str:
    with world.deployment.database.session() as session:
        found = session.scalar(select(Offer.id).where(Offer.subject == subject, Offer.policy_id == policy))
        assert found is not None
        return found


def test_list_own_offers_and_confirm_into_a_benefit(world: World) -> None:
    world.deployment.offers.make("refund")
    mine = world.http.get("/api/v1/offers", headers=world.headers(SMALL_LOW))
    assert mine.status_code == 200
    (offer,) = mine.json()
    assert (offer["policy_id"], offer["status"], offer["amount"]) == ("refund", "made", 60000.0)
    assert offer["expires_on"] == "2026-12-07" and offer["explanation"][0]["rule"] == "layoff-rate"
    confirmed = world.http.post(
        f"/api/v1/offers/{offer['id']}/confirm", json=ACCOUNT, headers=world.headers(SMALL_LOW)
    )
    assert confirmed.status_code == 200, confirmed.text
    benefit = confirmed.json()
    assert benefit["account"] == "6222***********0123" and benefit["status"] == "to_pay"
    assert benefit["amount"] == 60000.0 and benefit["period"] == "2026"
    assert benefit["payee"] != SMALL_LOW and benefit["payee"].startswith(SMALL_LOW[:4])
    assert benefit["payee_name"] == "上海*******公司"
    assert benefit["version_hash"].startswith("sha256:")
    assert benefit["evidence"]["explanation"][0]["result"] == "pass"
    with world.deployment.database.session() as session:
        stored = session.scalars(select(Benefit)).one()
        assert stored.account == "6222021234567890123"
        assert stored.payee == SMALL_LOW and stored.payee_name == "上海低裁员科技有限公司"
        entries = list(AuditLog().entries(session))
        assert AuditLog().verify(session).ok
    assert {"offers.confirmed", "benefits.created"} <= {entry.action for entry in entries}
    assert all("6222021234567890123" not in entry.details for entry in entries)
    again = world.http.post(
        f"/api/v1/offers/{offer['id']}/confirm", json=ACCOUNT, headers=world.headers(SMALL_LOW)
    )
    assert again.status_code == 409 and "已确认" in again.json()["error"]["message"]


def test_only_the_subject_sees_and_confirms_its_offer(world: World) -> None:
    world.deployment.offers.make("refund")
    theirs = offer_id(world, SMALL_LOW)
    other = world.headers(FIRST_TIE)
    assert world.http.get(f"/api/v1/offers/{theirs}", headers=other).status_code == 404
    assert world.http.post(f"/api/v1/offers/{theirs}/confirm", json=ACCOUNT, headers=other).status_code == 404
    assert world.http.post(f"/api/v1/offers/{theirs}/decline", headers=other).status_code == 404
    assert [offer["id"] for offer in world.http.get("/api/v1/offers", headers=other).json()] == [
        offer_id(world, FIRST_TIE)
    ]
    assert world.http.get("/api/v1/offers").status_code == 401
    assert status(world)[SMALL_LOW] == "made"


def test_a_bad_account_is_refused_naming_the_field(world: World) -> None:
    world.deployment.offers.make("refund")
    mine = offer_id(world, SMALL_LOW)
    headers = world.headers(SMALL_LOW)
    for body in (
        {"bank": "工行", "account": "12ab5678"},
        {"bank": "工行", "account": "1234"},
        {"bank": "工行"},
    ):
        refused = world.http.post(f"/api/v1/offers/{mine}/confirm", json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"][0]["field"] == "account"
    assert status(world)[SMALL_LOW] == "made"


def test_declines_promote_waiting_offers_in_order_and_nobody_overtakes(world: World) -> None:
    world.deployment.offers.make("refund")  # budget 100,000: 60,000 + 30,000 made, 10,000 left
    declined = world.http.post(
        f"/api/v1/offers/{offer_id(world, SMALL_LOW)}/decline", headers=world.headers(SMALL_LOW)
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    # 70,000 left: the second tie (30,000) is next; LARGE (60,000) then no longer fits and waits.
    assert status(world) == {SMALL_LOW: "declined", FIRST_TIE: "made", SECOND_TIE: "made", LARGE: "waiting"}
    world.http.post(f"/api/v1/offers/{offer_id(world, FIRST_TIE)}/decline", headers=world.headers(FIRST_TIE))
    assert status(world)[LARGE] == "made"
    stats = world.http.get("/api/v1/offers/stats", params={"policy": "refund"}).json()
    assert stats == [
        {
            "policy_id": "refund",
            "policy_name": "失业保险稳岗返还",
            "period": "2026",
            "screened": 6,
            "eligible": 4,
            "offered": 4,
            "open": 2,
            "waiting": 0,
            "confirmed": 0,
            "declined": 2,
            "expired": 0,
            "withdrawn": 0,
            "ended": 0,
            "paid": 0,
            "eligible_amount": 180000.0,
            "offered_amount": 180000.0,
            "confirmed_amount": 0.0,
            "paid_amount": 0.0,
            "budget": 100000.0,
            "budget_left": 10000.0,
        }
    ]
    again = world.http.post(
        f"/api/v1/offers/{offer_id(world, SMALL_LOW)}/decline", headers=world.headers(SMALL_LOW)
    )
    assert again.status_code == 409


def test_unconfirmed_offers_expire_and_the_queue_moves(world: World) -> None:
    world.deployment.offers.make("refund")
    world.deployment.offers.make("allowance")  # 2026-11, 30 calendar days
    assert status(world, "allowance") == {OLD: "made", VERY_OLD: "made"}
    assert YOUNG not in status(world, "allowance")
    # The last day to confirm the refunds: nothing lapses, both are reminded — once.
    assert world.deployment.offers.expire(dt.date(2026, 12, 7)) == ExpiryRun(expired=0, made=0, reminded=2)
    assert world.deployment.offers.expire(dt.date(2026, 12, 7)) == ExpiryRun(expired=0, made=0, reminded=0)
    with world.deployment.database.session() as session:
        reminders = session.execute(
            select(Message.recipient, Message.reference).where(Message.template == "offer.expiring")
        ).all()
    assert sorted(reminders) == sorted(
        [(SMALL_LOW, offer_id(world, SMALL_LOW)), (FIRST_TIE, offer_id(world, FIRST_TIE))]
    )
    # Both refunds lapse; the second tie and LARGE move up.
    assert world.deployment.offers.expire(dt.date(2026, 12, 8)) == ExpiryRun(expired=2, made=2, reminded=0)
    assert status(world) == {SMALL_LOW: "expired", FIRST_TIE: "expired", SECOND_TIE: "made", LARGE: "made"}
    assert set(status(world, "allowance").values()) == {"made"}
    late = world.http.post(
        f"/api/v1/offers/{offer_id(world, SMALL_LOW)}/confirm", json=ACCOUNT, headers=world.headers(SMALL_LOW)
    )
    assert late.status_code == 409
    assert world.deployment.offers.expire(dt.date(2026, 12, 24)) == ExpiryRun(expired=4, made=0, reminded=0)
    assert set(status(world, "allowance").values()) == {"expired"}


def test_an_offer_past_its_last_day_cannot_be_confirmed_before_the_sweep(world: World) -> None:
    world.deployment.offers.make("allowance")
    with world.deployment.database.session() as session:
        for offer in session.scalars(select(Offer)):
            offer.expires_on = dt.date(2026, 11, 22)
    late = world.http.post(
        f"/api/v1/offers/{offer_id(world, OLD, 'allowance')}/confirm",
        json=ACCOUNT,
        headers=world.headers(OLD),
    )
    assert late.status_code == 409 and "已超过确认期限" in late.json()["error"]["message"]


def test_the_department_marks_benefits_paid_and_the_notice_is_masked(world: World) -> None:
    world.deployment.offers.make("refund")
    benefit = world.http.post(
        f"/api/v1/offers/{offer_id(world, SMALL_LOW)}/confirm", json=ACCOUNT, headers=world.headers(SMALL_LOW)
    ).json()
    hr = world.officer("hr1", "human_resources")
    civil = world.officer("civil1", "civil_affairs")
    to_pay = world.http.get("/api/v1/benefits", params={"status": "to_pay"}, headers=hr).json()
    assert [item["id"] for item in to_pay] == [benefit["id"]]
    assert world.http.get("/api/v1/benefits", headers=civil).json() == []
    assert (
        world.http.post(
            f"/api/v1/benefits/{benefit['id']}/paid",
            json={"payment_reference": "GK2026120100001"},
            headers=civil,
        ).status_code
        == 404
    )
    assert (
        world.http.post(
            f"/api/v1/benefits/{benefit['id']}/paid",
            json={"payment_reference": "x"},
            headers=world.headers(SMALL_LOW),
        ).status_code
        == 403
    )
    paid = world.http.post(
        f"/api/v1/benefits/{benefit['id']}/paid", json={"payment_reference": "GK2026120100001"}, headers=hr
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    twice = world.http.post(
        f"/api/v1/benefits/{benefit['id']}/paid", json={"payment_reference": "GK2026120100001"}, headers=hr
    )
    assert twice.status_code == 409
    notice = world.http.get("/api/v1/offers/notice", params={"policy": "refund"})
    assert notice.status_code == 200
    assert notice.json() == [
        {
            "name": "上海*******公司",
            "subject": SMALL_LOW[:4] + "*" * 10 + SMALL_LOW[-4:],
            "amount": 60000.0,
            "period": "2026",
            "confirmed_on": notice.json()[0]["confirmed_on"],
        }
    ]
    assert SMALL_LOW not in notice.text and "低裁员" not in notice.text
    assert world.http.get("/api/v1/offers/notice", params={"policy": "nope"}).status_code == 404
    (figures,) = world.http.get("/api/v1/offers/stats", params={"policy": "refund"}).json()
    assert (figures["confirmed"], figures["paid"], figures["paid_amount"]) == (1, 1, 60000.0)
    assert figures["budget_left"] == 10000.0


def test_a_waiting_subject_may_decline_before_it_is_offered(world: World) -> None:
    world.deployment.offers.make("refund")
    declined = world.http.post(
        f"/api/v1/offers/{offer_id(world, LARGE)}/decline", headers=world.headers(LARGE)
    )
    assert declined.status_code == 200 and declined.json()["status_label"] == "已放弃"
    (figures,) = world.http.get("/api/v1/offers/stats", params={"policy": "refund", "period": "2026"}).json()
    assert (figures["offered"], figures["open"], figures["waiting"], figures["declined"]) == (2, 2, 1, 1)
    assert figures["budget_left"] == 10000.0
    confirm = world.http.post(
        f"/api/v1/offers/{offer_id(world, SECOND_TIE)}/confirm",
        json=ACCOUNT,
        headers=world.headers(SECOND_TIE),
    )
    assert confirm.status_code == 409 and "预算排队中" in confirm.json()["error"]["message"]
