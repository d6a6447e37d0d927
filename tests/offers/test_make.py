"""Offers from a screening: one per (policy, subject, period), within the budget in the declared
order, idempotent and safe under concurrent runs, each made offer with its message."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from miaopi.audit import AuditLog
from miaopi.notifications import NewMessage
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
    assert actions.count("offers.created") == 4 and actions.count("offers.made") == 2


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


def test_a_later_screening_refreshes_or_withdraws_waiting_offers(world: World) -> None:
    import pyarrow.parquet as pq

    world.deployment.offers.make("refund")
    registry = world.data_dir / "city" / "market" / "enterprise.parquet"
    table = pq.read_table(registry).to_pylist()
    for row in table:
        if row["credit_code"] == LARGE:
            row["layoff_rate"] = 0.2  # no longer eligible
        if row["credit_code"] == SECOND_TIE:
            row["ui_paid"] = 10000.0  # refund 6,000: now fits the 10,000 left
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(registry)), registry)
    again = world.deployment.offers.make("refund")
    assert (again.created, again.made, again.withdrawn, again.waiting) == (0, 1, 1, 0)
    found = offers(world)
    assert found[LARGE].status == "withdrawn"
    assert (found[SECOND_TIE].status, found[SECOND_TIE].amount_fen) == ("made", 600_000)
    assert found[SMALL_LOW].amount_fen == 6_000_000  # offers already made are never changed
    assert "withdrawn" not in {
        offer["status"] for offer in world.http.get("/api/v1/offers", headers=world.headers(LARGE)).json()
    }


def test_the_command_line(world: World) -> None:
    from typer.testing import CliRunner

    from miaopi.approval import china_today
    from miaopi.cli import app

    env = {"MIAOPI_DATA_DIR": str(world.data_dir), "MIAOPI_DATABASE_URL": world.database_url}
    runner = CliRunner()
    made = runner.invoke(app, ["offers", "make", "--policy", "refund", "--as-of", "2026-11-23"], env=env)
    assert made.exit_code == 0, made.output
    assert "新生成 4，本次推送 2，预算排队 2" in made.output
    wrong = runner.invoke(app, ["offers", "make", "--policy", "refund", "--period", "2026-11"], env=env)
    assert wrong.exit_code == 2 and "应为 YYYY" in wrong.output
    stats = runner.invoke(app, ["offers", "stats", "--policy", "refund"], env=env)
    assert stats.exit_code == 0 and "10,000.00" in stats.output
    # The command's clock is the real one (offers made today); sixty days on, both have lapsed.
    later = (china_today() + dt.timedelta(days=60)).isoformat()
    expired = runner.invoke(app, ["offers", "expire", "--today", later], env=env)
    assert expired.exit_code == 0 and "逾期 2 项，递补推送 2 项，临期提醒 0 项" in expired.output


def test_the_order_is_the_same_on_every_run_from_scratch(world: World) -> None:
    from sqlalchemy import delete

    from miaopi.offers.models import OfferPeriod, OfferScreening

    def run() -> list[tuple[str, str, str]]:
        world.deployment.offers.make("refund")
        with world.deployment.database.session() as session:
            rows = session.execute(
                select(Offer.subject, Offer.status, Offer.queue_key).order_by(Offer.queue_key)
            )
            return [tuple(row) for row in rows]

    first = run()
    with world.deployment.database.session() as session:
        session.execute(delete(Offer))
        session.execute(delete(OfferPeriod))
        session.execute(delete(OfferScreening))
    assert run() == first
    assert [status for _subject, status, _key in first] == ["made", "made", "waiting", "waiting"]


def test_offers_and_their_messages_commit_together(world: World) -> None:
    from miaopi.offers import OfferService

    deployment = world.deployment

    def failing(session: Session, messages: Sequence[NewMessage]) -> list[str]:
        # The first message is queued, then the outbox fails: the whole batch rolls back.
        deployment.notifications.enqueue_many(session, messages[:1])
        raise RuntimeError("outbox unavailable")

    service = OfferService(
        deployment.database,
        deployment.catalog,
        deployment.exchange,
        deployment.calendar,
        world.data_dir / "screening",
        notify=failing,
        today=lambda: TODAY,
    )
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        service.make("refund")
    # The offers were recorded (waiting); none was made without its message.
    assert {offer.status for offer in offers(world).values()} == {"waiting"} and messages(world) == []
    again = world.deployment.offers.make("refund")
    assert (again.created, again.made) == (0, 2) and len(messages(world)) == 2


def test_a_batch_of_offers_queues_its_messages_in_one_call(world: World) -> None:
    from miaopi.offers import OfferService

    deployment = world.deployment
    calls: list[list[str | None]] = []

    def counting(session: Session, messages: Sequence[NewMessage]) -> list[str]:
        calls.append([message.reference for message in messages])
        return deployment.notifications.enqueue_many(session, messages)

    service = OfferService(
        deployment.database,
        deployment.catalog,
        deployment.exchange,
        deployment.calendar,
        world.data_dir / "screening",
        notify=counting,
        today=lambda: TODAY,
    )
    result = service.make("refund")
    made = {offer.id for offer in offers(world).values() if offer.status == "made"}
    assert result.made == 2 and len(calls) == 1 and set(calls[0]) == made
    assert len(messages(world)) == 2


def test_offers_are_made_a_batch_per_transaction(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("miaopi.offers.service.PROMOTE_BATCH", 1)
    result = world.deployment.offers.make("allowance")
    assert (result.created, result.made, result.waiting) == (2, 2, 0)
    assert {offer.status for offer in offers(world, "allowance").values()} == {"made"}
    assert len(messages(world)) == 2


def test_offers_made_while_the_calendar_lacks_next_year_stay_open_and_are_logged_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Made on 2026-12-28, ten working days run into 2027, which the calendar does not know: each
    made offer's last day to confirm is left open (never guessed), and the log says so once, not
    once per offer."""
    from miaopi.config import load_settings
    from miaopi.deployment import Deployment

    december = Deployment.open(
        load_settings(world.data_dir, world.database_url), today=lambda: dt.date(2026, 12, 28)
    )
    try:
        with caplog.at_level(logging.ERROR, "miaopi.offers"):
            result = december.offers.make("refund")
    finally:
        december.close()
    assert result.made == 2
    made = [offer for offer in offers(world).values() if offer.status == "made"]
    assert len(made) == 2 and all(offer.expires_on is None for offer in made)
    said = [record.getMessage() for record in caplog.records if "working calendar" in record.getMessage()]
    assert len(said) == 1 and "不知道 2027 年的节假日安排" in said[0], said
    assert said[0].endswith("(offers left without a last day to confirm so far: 1)")
