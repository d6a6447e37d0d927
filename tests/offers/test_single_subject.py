"""One subject's offer (as a confirmed proactive case asks for it): the same rules, amount, order,
budget, messages and audit entries as a screening, never a second offer for the period — also when
a screening runs at the same time."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from miaopi.audit.models import AuditLogRecord
from miaopi.notifications.models import Message
from miaopi.offers import NotEligible
from miaopi.offers.models import Offer
from tests.offers.conftest import World
from tests.offers.test_make import offers
from tests.offers.world import LARGE, LAYOFFS, NO_DATA, OLD, SMALL_LOW, TODAY, VERY_OLD


def _audit(world: World, target: str) -> list[str]:
    with world.deployment.database.session() as session:
        return list(
            session.scalars(
                select(AuditLogRecord.action)
                .where(AuditLogRecord.target == target)
                .order_by(AuditLogRecord.seq)
            )
        )


def test_one_subject_gets_the_offer_a_screening_would_make(world: World) -> None:
    service = world.deployment.offers
    offer = service.offer_for("allowance", VERY_OLD, reference="WG-TEST-1")
    assert (offer.status, offer.period, offer.amount_fen) == ("made", "2026-11", 18_000)
    assert offer.screened_on == TODAY and offer.expires_on is not None
    assert offer.evidence["screening"] == {
        "as_of": "2026-11-23",
        "case": "WG-TEST-1",
        "rules": {"age": "pass"},
    }
    assert offer.explanation[0]["rule"] == "age"
    assert _audit(world, offer.id) == ["offers.created", "offers.made"]
    with world.deployment.database.session() as session:
        assert list(session.scalars(select(Message.template).where(Message.reference == offer.id))) == [
            "offer.made"
        ]
    # Asking again, or screening afterwards, never makes a second offer for the period.
    assert service.offer_for("allowance", VERY_OLD).id == offer.id
    result = service.make("allowance")
    assert result.created == 1  # OLD only; VERY_OLD already had its offer
    found = offers(world, "allowance")
    assert found[VERY_OLD].id == offer.id and found[VERY_OLD].amount_fen == 18_000
    # The single path computed the same evidence of the policy's reads as the screening.
    assert found[OLD].evidence["reads"] == offer.evidence["reads"]


def test_an_offer_from_a_screening_is_reused(world: World) -> None:
    world.deployment.offers.make("allowance")
    made = offers(world, "allowance")[OLD]
    assert world.deployment.offers.offer_for("allowance", OLD).id == made.id
    with world.deployment.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Offer).where(Offer.subject == OLD)) == 1


def test_not_entitled_subjects_get_no_offer(world: World) -> None:
    service = world.deployment.offers
    with pytest.raises(NotEligible, match=r"裁员率超过5\.5%"):
        service.offer_for("refund", LAYOFFS)
    with pytest.raises(NotEligible, match="缺少数据"):
        service.offer_for("refund", NO_DATA)
    assert offers(world) == {}


def test_the_budget_and_the_order_hold_for_one_subject(world: World) -> None:
    service = world.deployment.offers
    large = service.offer_for("refund", LARGE)  # 60,000 of the 100,000 budget
    assert large.status == "made" and large.amount_fen == 6_000_000
    # 60,000 more does not fit: this subject waits, as it would in a screening.
    small = service.offer_for("refund", SMALL_LOW)
    assert small.status == "waiting"
    assert _audit(world, small.id) == ["offers.created"]
    # A screening keeps both; nobody overtakes the waiting head of the queue.
    result = service.make("refund")
    assert (result.created, result.made) == (2, 0)
    found = offers(world)
    assert found[SMALL_LOW].id == small.id and found[SMALL_LOW].status == "waiting"
    assert {offer.status for subject, offer in found.items() if subject != LARGE} == {"waiting"}
    # The queue key is the one the screening computes (small before large, then layoff rate).
    assert found[SMALL_LOW].queue_key < found[LARGE].queue_key
    # LARGE declines: the budget goes to the head of the queue.
    large_principal = world.deployment.accounts.ensure_applicant(LARGE, verified=True)
    token = world.deployment.accounts.issue_token(large_principal.id)
    declined = world.http.post(
        f"/api/v1/offers/{large.id}/decline", headers={"Authorization": f"Bearer {token}"}
    )
    assert declined.status_code == 200
    assert offers(world)[SMALL_LOW].status == "made"


def test_concurrent_single_offers_and_a_screening_cannot_duplicate(world: World) -> None:
    service = world.deployment.offers
    errors: list[BaseException] = []

    def run(action: str) -> None:
        try:
            if action == "make":
                service.make("allowance")
            else:
                service.offer_for("allowance", OLD)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(action,)) for action in ("one", "make", "one", "one")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = offers(world, "allowance")
    assert set(found) == {OLD, VERY_OLD}
    assert {offer.status for offer in found.values()} == {"made"}
    with world.deployment.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Offer)) == 2
        made = session.scalar(
            select(func.count()).select_from(Message).where(Message.template == "offer.made")
        )
    assert made == 2
