"""A proactive case for a benefit policy (老年综合津贴 at 65) ends with the same offer and benefit
record as 免申即享: asked for the account at confirmation (422 without one), reusing the offer a
screening already made, and never a second offer or benefit under concurrent confirmations."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from sqlalchemy import func, select

from miaopi.offers.models import Benefit, Offer
from miaopi.proactive.models import ProactiveCase
from tests.events.world import OLD, World
from tests.proactive.policy import ACCOUNT, POLICY, verified_case


def _counts(world: World) -> tuple[int, int]:
    with world.deployment.database.session() as session:
        offers = session.scalar(select(func.count()).select_from(Offer).where(Offer.subject == OLD))
        benefits = session.scalar(select(func.count()).select_from(Benefit).where(Benefit.payee == OLD))
    return int(offers or 0), int(benefits or 0)


def test_confirming_asks_for_the_account_and_ends_with_a_benefit_record(world: World) -> None:
    case_id = verified_case(world)
    headers = world.headers(OLD)
    url = f"/api/v1/proactive/cases/{case_id}/confirm"

    missing = world.http.post(url, headers=headers)
    assert missing.status_code == 422
    assert (
        "收款账户" in missing.json()["error"]["message"] and "account" in missing.json()["error"]["message"]
    )
    bad = world.http.post(url, headers=headers, json={"bank": "工行", "account": "12ab"})
    assert bad.status_code == 422 and "account" in bad.text
    assert (
        world.http.get(f"/api/v1/proactive/cases/{case_id}", headers=headers).json()["status"] == "verified"
    )
    assert _counts(world) == (0, 0)

    done = world.http.post(url, headers=headers, json=ACCOUNT)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["decision"], body["interactions"]) == ("decided", "approved", 3)
    offer = world.http.get(f"/api/v1/offers/{body['offer']}", headers=headers).json()
    assert (offer["policy_id"], offer["period"], offer["status"], offer["amount"]) == (
        POLICY,
        "2026-11",
        "confirmed",
        75,
    )
    with world.deployment.database.session() as session:
        benefit = session.scalars(select(Benefit).where(Benefit.offer_id == body["offer"])).one()
        assert (benefit.payee, benefit.amount_fen, benefit.period, benefit.status) == (
            OLD,
            7500,
            "2026-11",
            "to_pay",
        )
        assert benefit.account == "6222020200001234567" and benefit.payee_name == "王秀英"
        assert benefit.evidence["screening"]["screening"]["case"] == case_id  # the offer's evidence
    # The department sees it to pay, like any confirmed offer.
    civil = world.officer("mz-pay", "civil_affairs")
    (listed,) = world.http.get("/api/v1/benefits?status=to_pay", headers=civil).json()
    assert listed["offer_id"] == body["offer"] and listed["account"].count("*") > 0
    assert _counts(world) == (1, 1)
    # A second click changes nothing.
    again = world.http.post(url, headers=headers, json=ACCOUNT)
    assert again.status_code == 409
    assert _counts(world) == (1, 1)


def test_the_offer_a_screening_made_is_the_one_confirmed(world: World) -> None:
    result = world.deployment.offers.make(POLICY)
    assert result.created == 1  # OLD, 65 this month, Shanghai hukou
    with world.deployment.database.session() as session:
        screened = session.scalars(select(Offer).where(Offer.subject == OLD)).one()
    case_id = verified_case(world)
    body = world.http.post(
        f"/api/v1/proactive/cases/{case_id}/confirm", headers=world.headers(OLD), json=ACCOUNT
    ).json()
    assert body["offer"] == screened.id and body["decision"] == "approved"
    assert _counts(world) == (1, 1)
    # And a screening after that creates nothing either.
    assert world.deployment.offers.make(POLICY).created == 0
    assert _counts(world) == (1, 1)


def test_concurrent_confirmations_and_a_screening_make_one_offer(world: World) -> None:
    case_id = verified_case(world)
    token = world.token(OLD)
    base = str(world.http.base_url)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def confirm() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            response = client.post(
                f"/api/v1/proactive/cases/{case_id}/confirm",
                headers={"Authorization": f"Bearer {token}"},
                json=ACCOUNT,
            )
            statuses.append(response.status_code)

    def screening() -> None:
        try:
            world.deployment.offers.make(POLICY)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads: list[threading.Thread] = [threading.Thread(target=confirm) for _ in range(3)]
    threads.insert(1, threading.Thread(target=screening))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(statuses)[0] == 200 and set(statuses) <= {200, 409}
    assert _counts(world) == (1, 1)
    with world.deployment.database.session() as session:
        case: Any = session.get(ProactiveCase, case_id)
        assert case.status == "decided" and case.decision == "approved"


def test_the_account_on_file_is_used_the_next_time(world: World) -> None:
    """A subject who confirmed the policy before is not asked for the account again."""
    from miaopi.offers import ConfirmIn

    service = world.deployment.offers
    previous = service.offer_for(POLICY, OLD)
    service.confirm_for(OLD, previous.id, ConfirmIn(**ACCOUNT), actor="test")
    with world.deployment.database.session() as session:
        # Make it last period's, so this period has no offer yet.
        session.execute(
            Offer.__table__.update().where(Offer.id == previous.id).values(period="2026-10")  # type: ignore[attr-defined]
        )
        session.execute(
            Benefit.__table__.update().where(Benefit.offer_id == previous.id).values(period="2026-10")  # type: ignore[attr-defined]
        )
    case_id = verified_case(world)
    done = world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=world.headers(OLD))
    assert done.status_code == 200, done.text
    assert done.json()["decision"] == "approved" and done.json()["offer"] != previous.id
    with world.deployment.database.session() as session:
        benefit = session.scalars(select(Benefit).where(Benefit.offer_id == done.json()["offer"])).one()
        assert benefit.account == "6222020200001234567" and benefit.period == "2026-11"
