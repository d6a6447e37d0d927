"""Events over real HTTP: stored once, authenticated per source department, refused with clear 4xx."""

from __future__ import annotations

from sqlalchemy import func, select

from miaopi.audit import AuditLog
from miaopi.audit.chain import LOG
from miaopi.events.models import Event
from miaopi.proactive.models import ProactiveCase
from tests.events.world import BUILDER, OLD, REP, SHOP, World, name_change


def _count(world: World, model: type) -> int:
    with world.deployment.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_event_opens_one_case_and_a_repeat_is_acknowledged_and_ignored(world: World) -> None:
    market = world.officer("mr1", "market_regulation")
    first = world.http.post("/api/v1/events", json=name_change("mr-0001"), headers=market)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["stored"] is True and body["duplicate"] is False
    assert len(body["cases"]) == 1
    triggered = [entry for entry in body["outcome"] if entry["outcome"] == "triggered"]
    assert [entry["trigger"] for entry in triggered] == ["construction-qualification-change"]

    again = world.http.post("/api/v1/events", json=name_change("mr-0001"), headers=market)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["cases"] == []
    assert _count(world, Event) == 1
    assert _count(world, ProactiveCase) == 1


def test_another_event_about_the_same_occasion_never_opens_a_second_case(world: World) -> None:
    market = world.officer("mr1", "market_regulation")
    world.http.post("/api/v1/events", json=name_change("mr-0001"), headers=market)
    other = world.http.post("/api/v1/events", json=name_change("mr-0002"), headers=market)
    assert other.status_code == 201
    outcome = {entry["trigger"]: entry["outcome"] for entry in other.json()["outcome"]}
    assert outcome["construction-qualification-change"] == "duplicate_case"
    assert _count(world, Event) == 2
    assert _count(world, ProactiveCase) == 1
    with world.deployment.database.session() as session:
        stored = session.scalars(select(Event).where(Event.event_id == "mr-0002")).one()
        assert stored.outcome[0]["outcome"] in ("duplicate_case", "not_triggered")
        assert any(entry["outcome"] == "duplicate_case" for entry in stored.outcome)


def test_an_event_whose_condition_fails_is_stored_without_a_case(world: World) -> None:
    market = world.officer("mr1", "market_regulation")
    response = world.http.post("/api/v1/events", json=name_change("mr-shop", subject=SHOP), headers=market)
    assert response.status_code == 201
    assert response.json()["cases"] == []
    assert {entry["outcome"] for entry in response.json()["outcome"]} == {"not_triggered"}
    assert _count(world, ProactiveCase) == 0


def test_a_department_may_only_send_its_own_event_types(world: World) -> None:
    education = world.officer("edu1", "education")
    refused = world.http.post("/api/v1/events", json=name_change("edu-1"), headers=education)
    assert refused.status_code == 403
    assert "market_regulation" in refused.json()["error"]["message"]
    graduation = {
        "id": "edu-2",
        "type": "person.graduated",
        "subject": REP,
        "occurred_on": "2026-07-01",
        "payload": {"degree": "本科", "graduation_date": "2026-07-01"},
    }
    assert world.http.post("/api/v1/events", json=graduation, headers=education).status_code == 201
    market = world.officer("mr1", "market_regulation")
    assert (
        world.http.post("/api/v1/events", json={**graduation, "id": "mr-9"}, headers=market).status_code
        == 403
    )
    assert _count(world, Event) == 1


def test_only_department_accounts_send_events(world: World) -> None:
    assert world.http.post("/api/v1/events", json=name_change("x-1")).status_code == 401
    applicant = world.http.post("/api/v1/events", json=name_change("x-2"), headers=world.headers(BUILDER))
    assert applicant.status_code == 403
    assert _count(world, Event) == 0


def test_invalid_events_get_a_422_naming_the_field(world: World) -> None:
    market = world.officer("mr1", "market_regulation")

    def field_of(body: dict[str, object]) -> str:
        response = world.http.post("/api/v1/events", json=body, headers=market)
        assert response.status_code == 422, response.text
        message = response.json()["error"]["message"]
        assert message.startswith("输入有误")
        return str(response.json()["error"]["fields"][0]["field"])

    assert field_of(name_change("a1", type="enterprise.teleported")) == "type"
    assert field_of(name_change("a2", subject=OLD)) == "subject"  # a person for an enterprise event
    assert field_of(name_change("a3", subject="91440300MA5XXXXX")) == "subject"
    assert field_of(name_change("a4", payload={})) == "payload.change_date"
    assert field_of(name_change("a5", payload={"change_date": "20 Nov"})) == "payload.change_date"
    assert (
        field_of(name_change("a6", payload={"change_date": "2026-11-20", "colour": "red"}))
        == "payload.colour"
    )
    assert field_of(name_change("bad id with spaces")) == "id"
    assert field_of({**name_change("a7"), "extra": 1}) == "extra"
    assert field_of(name_change("a8", occurred_on="yesterday")) == "occurred_on"
    assert _count(world, Event) == 0


def test_every_stored_event_and_case_is_in_the_audit_chain(world: World) -> None:
    market = world.officer("mr1", "market_regulation")
    case_id = world.http.post("/api/v1/events", json=name_change("mr-0001"), headers=market).json()["cases"][
        0
    ]
    with world.deployment.database.session() as session:
        actions = {(row.action, row.target) for row in session.execute(select(LOG.c.action, LOG.c.target))}
        assert ("event.received", "market_regulation:mr-0001") in actions
        assert ("proactive.detected", case_id) in actions
        assert AuditLog().verify(session).ok


def test_event_types_are_listed(world: World) -> None:
    types = {entry["code"]: entry for entry in world.http.get("/api/v1/events/types").json()}
    assert types["enterprise.legal_rep_changed"]["sources"] == ["market_regulation"]
    assert {"person.turned_age", "person.graduated", "person.birth_registered", "person.died"} <= set(types)


def test_the_legal_representative_is_the_contact(world: World) -> None:
    market = world.officer("mr1", "market_regulation")
    world.http.post("/api/v1/events", json=name_change("mr-0001"), headers=market)
    with world.deployment.database.session() as session:
        case = session.scalars(select(ProactiveCase)).one()
        assert case.subject == BUILDER and case.contact == REP
