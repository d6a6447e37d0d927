"""出生、身后“一件事” over real HTTP: a birth registration prepares the 育儿补贴 case for the parent;
a death ends the 老年综合津贴 of the deceased in the transaction that stores the event — open offers
end (no reminder), unpaid benefits after the day of death are stopped, the month of death still
paid — audit-logged, once however often the event is delivered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from miaopi.audit.models import AuditLogRecord
from miaopi.notifications.models import Message
from miaopi.offers import ConfirmIn
from miaopi.offers import service as offers_service
from miaopi.offers.models import Benefit, Offer
from tests.events.world import OLD, STRANGER, TODAY, World

POLICY = "shanghai-elderly-allowance"


def _event(
    world: World, body: dict[str, Any], department: str = "public_security", *, again: int = 0
) -> dict[str, Any]:
    headers = world.officer(f"{department}-{body['id']}-{again}", department)
    response = world.http.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def test_a_birth_prepares_the_childcare_subsidy_for_the_parent(world: World) -> None:
    birth = {
        "id": "birth-0001",
        "type": "person.birth_registered",
        "subject": STRANGER,
        "occurred_on": "2026-11-20",
        "payload": {"birth_date": "2026-11-18"},
    }
    (case_id,) = _event(world, birth, "health")["cases"]
    parent = world.headers(STRANGER)
    viewed = world.http.get(f"/api/v1/proactive/cases/{case_id}", headers=parent).json()
    assert viewed["target"] == "440300-WJ-0001" and viewed["form"] == {"child_birth_date": "2026-11-18"}
    assert viewed["form_fields_prefilled"] == 1 and viewed["materials_waived"] == 3
    assert world.http.post(f"/api/v1/proactive/cases/{case_id}/verify", headers=parent).json()["passed"]
    done = world.http.post(f"/api/v1/proactive/cases/{case_id}/confirm", headers=parent).json()
    assert (done["status"], done["decision"], done["interactions"]) == ("delivered", "approved", 3)
    decided = world.http.get(f"/api/v1/applications/{done['case_no']}", headers=parent).json()
    assert decided["status"] == "approved"
    # The same birth sent again by the other department's system opens no second case.
    again = _event(world, {**birth, "id": "birth-0002"}, "public_security")
    assert again["cases"] == []


def test_a_death_stops_the_allowance_of_the_deceased(world: World) -> None:
    service = world.deployment.offers
    account = ConfirmIn(bank="中国工商银行上海市分行", account="6222020200001234567")
    # November confirmed (the month of death), December confirmed (after it), January offered.
    november = service.offer_for(POLICY, OLD)
    december = service.offer_for(POLICY, OLD, as_of=dt.date(2026, 12, 1))
    january = service.offer_for(POLICY, OLD, as_of=dt.date(2027, 1, 1))
    owed = service.confirm_for(OLD, november.id, account, actor="test")
    after = service.confirm_for(OLD, december.id, account, actor="test")
    assert january.status == "made"

    death = {
        "id": "death-0001",
        "type": "person.died",
        "subject": OLD,
        "occurred_on": "2026-11-21",
        "payload": {"death_date": "2026-11-21"},
    }
    stored = _event(world, death)
    assert stored["duplicate"] is False and stored["outcome"][0]["outcome"] == "triggered"
    with world.deployment.database.session() as session:
        statuses = {
            offer.period: offer.status for offer in session.scalars(select(Offer).where(Offer.subject == OLD))
        }
        benefits = {b.period: b.status for b in session.scalars(select(Benefit).where(Benefit.payee == OLD))}
        actions = list(
            session.scalars(
                select(AuditLogRecord.action).where(
                    AuditLogRecord.target.in_([january.id, december.id, after.id, owed.id])
                )
            )
        )
    assert statuses == {"2026-11": "confirmed", "2026-12": "ended", "2027-01": "ended"}
    assert benefits == {"2026-11": "to_pay", "2026-12": "stopped"}
    assert actions.count("offers.ended") == 2 and actions.count("benefits.stopped") == 1

    # No payment after the day of death; the month of death is still paid.
    civil = world.officer("mz-pay", "civil_affairs")
    refused = world.http.post(
        f"/api/v1/benefits/{after.id}/paid", json={"payment_reference": "GK-1"}, headers=civil
    )
    assert refused.status_code == 409 and "已停发" in refused.json()["error"]["message"]
    paid = world.http.post(
        f"/api/v1/benefits/{owed.id}/paid", json={"payment_reference": "GK-2"}, headers=civil
    )
    assert paid.status_code == 200
    to_pay = world.http.get("/api/v1/benefits?status=stopped", headers=civil).json()
    assert [b["id"] for b in to_pay] == [after.id] and to_pay[0]["status_label"] == "已停发"
    # No reminder for the ended January offer, even on its last days.
    assert january.expires_on is not None
    assert service.expire(january.expires_on - dt.timedelta(days=1)).reminded == 0
    with world.deployment.database.session() as session:
        assert (
            list(
                session.scalars(
                    select(Message.id).where(Message.template == "offer.expiring", Message.recipient == OLD)
                )
            )
            == []
        )
    (figures,) = [f for f in service.stats(POLICY) if f.period == "2027-01"]
    assert figures.ended == 1 and figures.open == 0

    # The same death delivered again changes nothing and logs nothing more.
    before = len(actions)
    assert _event(world, death, again=1)["duplicate"] is True
    with world.deployment.database.session() as session:
        assert (
            len(
                list(
                    session.scalars(
                        select(AuditLogRecord.action).where(
                            AuditLogRecord.target.in_([january.id, december.id, after.id, owed.id])
                        )
                    )
                )
            )
            == before + 1  # benefits.paid of the month of death, nothing else
        )


def test_a_death_with_nothing_to_stop_is_stored_quietly(world: World) -> None:
    death = {
        "id": "death-0100",
        "type": "person.died",
        "subject": STRANGER,
        "occurred_on": str(TODAY),
        "payload": {"death_date": str(TODAY)},
    }
    stored = _event(world, death, "health")
    assert stored["cases"] == []
    with world.deployment.database.session() as session:
        assert list(session.scalars(select(Offer.id))) == []


def test_a_benefit_paid_while_the_death_is_stored_stays_paid(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The department marks December paid in its own transaction just between the death's
    transaction reading the benefit and stopping it: the payment stands, the offer stays confirmed,
    and the audit log records no stop that did not happen."""
    if world.deployment.database.dialect == "sqlite":
        pytest.skip("SQLite has one writer at a time: the two transactions cannot interleave there")
    service = world.deployment.offers
    account = ConfirmIn(bank="中国工商银行上海市分行", account="6222020200001234567")
    december = service.offer_for(POLICY, OLD, as_of=dt.date(2026, 12, 1))
    benefit = service.confirm_for(OLD, december.id, account, actor="test")
    real_changed = offers_service._changed

    def paid_meanwhile(session: Session, statement: Any) -> bool:
        if statement.table.name == "offers_benefit":
            with world.deployment.database.session() as other:  # the department's own transaction
                other.execute(update(Benefit).where(Benefit.id == benefit.id).values(status="paid"))
        return real_changed(session, statement)

    monkeypatch.setattr(offers_service, "_changed", paid_meanwhile)
    death = {
        "id": "death-0009",
        "type": "person.died",
        "subject": OLD,
        "occurred_on": "2026-11-21",
        "payload": {"death_date": "2026-11-21"},
    }
    _event(world, death)
    with world.deployment.database.session() as session:
        assert session.scalar(select(Benefit.status).where(Benefit.id == benefit.id)) == "paid"
        assert session.scalar(select(Offer.status).where(Offer.id == december.id)) == "confirmed"
        actions = list(
            session.scalars(
                select(AuditLogRecord.action).where(AuditLogRecord.target.in_([december.id, benefit.id]))
            )
        )
    assert "benefits.stopped" not in actions and "offers.ended" not in actions
