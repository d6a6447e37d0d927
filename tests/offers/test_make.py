"""Offers from a screening: one per (policy, subject, period), within the budget in the declared
order, idempotent and safe under concurrent runs, each made offer with its message."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from miaopi.audit import AuditLog
from miaopi.notifications.models import Message
from miaopi.offers import OfferError
from miaopi.offers.models import Offer
from tests.offers.conftest import World
from tests.offers.world import FIRST_TIE, LARGE, SECOND_TIE, SMALL_LOW, TODAY


def offers(world: World, policy: str = "refund") -> dict[str, Offer]:
    with world.deployment.database.session() as session:
        return {
            offer.subject: offer for offer in session.scalars(select(Offer).where(Offer.policy_id == policy))
        }


def messages(world: World) -> list[Message]:
    with world.deployment.database.session() as session:
        return list(session.scalars(select(Message).order_by(Message.created_at)))


def test_offers_within_the_budget_in_the_declared_order(world: World) -> None:
    result = world.deployment.offers.make("refund")
    assert (result.period, result.as_of) == ("2026", TODAY)
    assert (result.screened, result.eligible, result.ineligible, result.unknown) == (6, 4, 1, 1)
    assert (result.created, result.made, result.waiting) == (4, 2, 2)
    found = offers(world)
    assert {subject: offer.status for subject, offer in found.items()} == {
        SMALL_LOW: "made",
        FIRST_TIE: "made",
        SECOND_TIE: "waiting",
        LARGE: "waiting",
    }
    small = found[SMALL_LOW]
    assert small.amount_fen == 6_000_000 and small.period == "2026"
    assert small.version_hash == world.deployment.catalog.policies["refund"].versions[0].content_hash
    assert small.explanation == [
        {
            "rule": "layoff-rate",
            "result": "pass",
            "message": "上年度裁员率未超过5.5%",
            "legal_basis": "《人社部发〔2025〕18号》第一条",
        }
    ]
    assert small.evidence["screening"]["rules"] == {"layoff-rate": "pass"}
    assert small.evidence["reads"][0]["resource"] == "enterprise.registry"
    assert small.expires_on is not None and small.expires_on.isoformat() == "2026-12-07"  # 10 working days
    assert found[LARGE].expires_on is None and found[LARGE].made_at is None
    # The queue is the declared order: small before large, lower layoff rate, then the hash.
    order = sorted(found.values(), key=lambda offer: offer.queue_key)
    assert [offer.subject for offer in order] == [SMALL_LOW, FIRST_TIE, SECOND_TIE, LARGE]
    sent = messages(world)
    assert sorted((message.recipient, message.template) for message in sent) == sorted(
        [(SMALL_LOW, "offer.made"), (FIRST_TIE, "offer.made")]
    )
    assert {message.reference for message in sent} == {found[SMALL_LOW].id, found[FIRST_TIE].id}
    assert "60,000.00" in next(m.body for m in sent if m.recipient == SMALL_LOW)
    with world.deployment.database.session() as session:
        assert AuditLog().verify(session).ok
        actions = [entry.action for entry in AuditLog().entries(session)]
    assert actions.count("offers.made") == 2 and actions.count("offers.waiting") == 2


def test_running_again_creates_nothing_new(world: World) -> None:
    world.deployment.offers.make("refund")
    before = {subject: (offer.id, offer.status) for subject, offer in offers(world).items()}
    again = world.deployment.offers.make("refund")
    assert (again.created, again.made, again.waiting) == (0, 0, 2)
    assert {subject: (offer.id, offer.status) for subject, offer in offers(world).items()} == before
    assert len(messages(world)) == 2


def test_concurrent_runs_cannot_duplicate(world: World) -> None:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            world.deployment.offers.make("refund")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with world.deployment.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Offer)) == 4
    assert sorted(offer.status for offer in offers(world).values()) == ["made", "made", "waiting", "waiting"]
    assert len(messages(world)) == 2


def test_periods_and_dates_are_checked(world: World) -> None:
    with pytest.raises(OfferError, match="应为 YYYY"):
        world.deployment.offers.make("refund", period="2026-11")
    with pytest.raises(OfferError, match="不在发放期 2025"):
        world.deployment.offers.make("refund", period="2025", as_of=TODAY)
    with pytest.raises(OfferError, match="没有政策 nope"):
        world.deployment.offers.make("nope")
