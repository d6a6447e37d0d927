"""How a benefit policy's proactive case (老年综合津贴 at 65) ends when its offer cannot simply be
confirmed at once, over real HTTP on SQLite and PostgreSQL: a platform-side error (the policy gone
from the catalogue) or facts not known leave the case to confirm again — never a 500, never an
automatic refusal; only a definite failure refuses. An offer waiting for budget and confirmed later,
here or under /offers, decides the case; an offer that ended decides nothing but closes the case. A
case opened for someone whose death arrives in the same batch is not opened at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from miaopi.city.generate import resources
from miaopi.events.intake import EventIn, validate_event
from miaopi.notifications.models import Message
from miaopi.offers.models import Benefit, Offer, OfferPeriod
from miaopi.proactive.models import ProactiveCase
from tests.events.world import OLD, ROWS, TODAY, World
from tests.proactive.policy import ACCOUNT, POLICY, verified_case


def _confirm(world: World, case_id: str, body: dict[str, str] | None = ACCOUNT) -> Any:
    return world.http.post(
        f"/api/v1/proactive/cases/{case_id}/confirm", headers=world.headers(OLD), json=body
    )


def _case(world: World, case_id: str) -> dict[str, Any]:
    return dict(world.http.get(f"/api/v1/proactive/cases/{case_id}", headers=world.headers(OLD)).json())


def _set_hukou(world: World, hukou: str | None) -> None:
    """OLD's household registration as the population registry now shares it (None: not recorded)."""
    (resource,) = (r for r in resources() if r.code == "population.person")
    rows = [dict(row, hukou_city=hukou) if row["id_number"] == OLD else row for row in ROWS[resource.code]]
    columns = {f.name: [row.get(f.name) for row in rows] for f in resource.fields}
    pq.write_table(
        pa.table(columns, schema=resource.schema), world.deployment.settings.city_dir / resource.path
    )
    world.deployment.exchange._sources.pop(resource.code, None)  # its in-memory index is read again


def _decided_messages(world: World, case_id: str) -> int:
    with world.deployment.database.session() as session:
        return len(
            session.scalars(
                select(Message.id).where(
                    Message.template == "proactive.decided", Message.reference == case_id
                )
            ).all()
        )


def _no_budget(world: World) -> None:
    """This month's budget is used up: the offer made at confirmation waits."""
    with world.deployment.database.session() as session:
        session.add(
            OfferPeriod(policy_id=POLICY, period="2026-11", budget_fen=0, changed_at=dt.datetime.now(dt.UTC))
        )


def test_an_offer_error_leaves_the_case_to_confirm_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = verified_case(world)
    policy = world.deployment.catalog.policies[POLICY]
    monkeypatch.delitem(world.deployment.catalog.policies, POLICY)  # removed from the catalogue
    failed = _confirm(world, case_id)
    assert failed.status_code == 409, failed.text
    message = failed.json()["error"]["message"]
    assert "没有政策" in message and "稍后" in message
    assert (_case(world, case_id)["status"], _case(world, case_id)["decision"]) == ("verified", None)
    assert _decided_messages(world, case_id) == 0
    # Back in the catalogue: the same case is confirmed.
    monkeypatch.setitem(world.deployment.catalog.policies, POLICY, policy)
    done = _confirm(world, case_id)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decision"]) == ("decided", "approved")


def test_unknown_facts_are_not_a_refusal_and_a_definite_failure_is(world: World) -> None:
    case_id = verified_case(world)
    _set_hukou(world, None)
    unknown = _confirm(world, case_id)
    assert unknown.status_code == 409, unknown.text
    assert "不能确定" in unknown.json()["error"]["message"]
    assert (_case(world, case_id)["status"], _case(world, case_id)["decision"]) == ("verified", None)
    assert _decided_messages(world, case_id) == 0
    _set_hukou(world, "440300")  # now definitely not a Shanghai hukou
    refused = _confirm(world, case_id)
    assert refused.status_code == 409 and "不具有本市户籍" in refused.json()["error"]["message"]
    assert (_case(world, case_id)["status"], _case(world, case_id)["decision"]) == ("decided", "rejected")
    assert _decided_messages(world, case_id) == 1


def test_without_offers_a_policy_case_is_refused_before_it_moves(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = verified_case(world)
    monkeypatch.setattr(world.deployment.proactive, "offers", None)
    refused = _confirm(world, case_id)
    assert refused.status_code == 409 and "未开通" in refused.json()["error"]["message"]
    assert _case(world, case_id)["status"] == "verified"


def test_an_offer_confirmed_under_offers_decides_its_case(world: World) -> None:
    _no_budget(world)
    case_id = verified_case(world)
    waiting = _confirm(world, case_id)
    assert waiting.status_code == 200, waiting.text
    assert (waiting.json()["status"], waiting.json()["decision"]) == ("confirmed", "waiting")
    offer_id = waiting.json()["offer"]
    world.deployment.offers.make(POLICY)  # budget given: the queue moves
    confirmed = world.http.post(
        f"/api/v1/offers/{offer_id}/confirm", headers=world.headers(OLD), json=ACCOUNT
    )
    assert confirmed.status_code == 200, confirmed.text
    case = _case(world, case_id)
    assert (case["status"], case["decision"]) == ("decided", "approved")
    assert _decided_messages(world, case_id) == 1


def test_confirming_again_when_the_offer_is_made_reuses_the_account(world: World) -> None:
    _no_budget(world)
    case_id = verified_case(world)
    assert _confirm(world, case_id).json()["decision"] == "waiting"
    world.deployment.offers.make(POLICY)
    done = _confirm(world, case_id, None)  # no body: the account given while it waited
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decision"]) == ("decided", "approved")
    with world.deployment.database.session() as session:
        benefit = session.scalars(select(Benefit).where(Benefit.offer_id == done.json()["offer"])).one()
        assert benefit.account == "6222020200001234567"
    assert "6222020200001234567" not in str(done.json())  # the account is not shown in full


def test_an_offer_that_ended_closes_the_case(world: World) -> None:
    _no_budget(world)
    case_id = verified_case(world)
    offer_id = _confirm(world, case_id).json()["offer"]
    declined = world.http.post(f"/api/v1/offers/{offer_id}/decline", headers=world.headers(OLD))
    assert declined.status_code == 200, declined.text
    retry = _confirm(world, case_id)
    assert retry.status_code == 409 and "放弃" in retry.json()["error"]["message"]
    assert _case(world, case_id)["status"] == "declined"
    again = _confirm(world, case_id)
    assert again.status_code == 409 and "已放弃" in again.json()["error"]["message"]


def test_an_offer_past_its_deadline_closes_the_case(world: World) -> None:
    _no_budget(world)
    case_id = verified_case(world)
    offer_id = _confirm(world, case_id).json()["offer"]
    world.deployment.offers.make(POLICY)
    with world.deployment.database.session() as session:  # made long ago, never confirmed
        session.execute(
            Offer.__table__.update()
            .where(Offer.id == offer_id)
            .values(expires_on=TODAY - dt.timedelta(days=1))
        )  # type: ignore[attr-defined]
    retry = _confirm(world, case_id)
    assert retry.status_code == 409 and "确认期限" in retry.json()["error"]["message"]
    assert _case(world, case_id)["status"] == "expired"


def test_a_death_in_the_same_batch_opens_no_case_for_the_deceased(world: World) -> None:
    received = dt.datetime.now(dt.UTC)
    turned = validate_event(
        EventIn(
            id="age-1",
            type="person.turned_age",
            subject=OLD,
            occurred_on=TODAY,
            payload={"age": 65, "birthday": str(TODAY)},
        ),
        "data_bureau",
        "scan",
        received,
    )
    died = validate_event(
        EventIn(
            id="death-1",
            type="person.died",
            subject=OLD,
            occurred_on=TODAY,
            payload={"death_date": str(TODAY)},
        ),
        "health",
        "http",
        received,
    )
    results = world.deployment.events.ingest([turned, died])
    assert [r.cases for r in results] == [[], []]
    assert results[0].outcome[0]["outcome"] == "subject_died"
    with world.deployment.database.session() as session:
        assert session.scalars(select(ProactiveCase).where(ProactiveCase.subject == OLD)).all() == []


def test_the_sweep_closes_a_waiting_case_whose_offer_lapsed_unattended(world: World) -> None:
    """Confirmed while the budget was used up, the offer then declined under /offers and the case
    never opened again: the daily sweep closes it with its offer instead of leaving it confirmed."""
    _no_budget(world)
    case_id = verified_case(world)
    offer_id = _confirm(world, case_id).json()["offer"]
    declined = world.http.post(f"/api/v1/offers/{offer_id}/decline", headers=world.headers(OLD))
    assert declined.status_code == 200, declined.text
    assert _case(world, case_id)["status"] == "confirmed"
    assert world.deployment.proactive.sweep(TODAY) == (0, 1)
    assert _case(world, case_id)["status"] == "declined"
    assert world.deployment.proactive.sweep(TODAY) == (0, 0)  # once
