"""The dispatcher: claims, sends through real gateways, retries with backoff, rate limits, leases."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import event, func, select

from miaopi.audit import AuditLog
from miaopi.audit.models import AuditLogRecord
from miaopi.auth import Principal
from miaopi.notifications import (
    BackgroundDispatch,
    Dispatcher,
    NotificationConfig,
    Notifications,
    RateLimit,
    Templates,
)
from miaopi.notifications.models import Delivery, Recorded
from miaopi.store import Database
from tests.notifications.conftest import OFFER, OTHER_PERSON, PERSON, Clock
from tests.notifications.gateways import GatewayScript, Mailbox, http_gateway, smtp_relay

MOBILE = "13812345678"


def applicant(subject: str) -> Principal:
    return Principal(account_id=1, kind="applicant", login=subject, role="applicant", subject_id=subject)


def queue(
    database: Database, notifications: Notifications, channels: tuple[str, ...], recipient: str = PERSON
) -> str:
    with database.session() as session:
        return notifications.enqueue(
            session, recipient=recipient, template="offer.made", variables=OFFER, channels=channels
        )


def statuses(notifications: Notifications, message_id: str) -> dict[str, str]:
    return {row.channel: row.status for row in notifications.deliveries(message_id)}


def test_inbox_delivered_sms_recorded_masked_and_missing_contact_fails(
    database: Database, notifications: Notifications
) -> None:
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    with_contact = queue(database, notifications, ("inbox", "sms"))
    without_contact = queue(database, notifications, ("sms", "email"), recipient=OTHER_PERSON)
    report = Dispatcher(notifications).run_once()
    assert report.counts == {"delivered": 1, "sent": 1, "failed": 2}
    assert statuses(notifications, with_contact) == {"inbox": "delivered", "sms": "sent"}
    failed = {row.channel: row.last_error for row in notifications.deliveries(without_contact)}
    assert failed == {"sms": "收件人未登记手机号码", "email": "收件人未登记电子邮箱地址"}
    with database.session() as session:
        recorded = session.scalars(select(Recorded)).one()
    assert recorded.channel == "sms" and recorded.address == "1381***5678"
    assert recorded.text.startswith("【秒批】您符合老年综合津贴条件")
    # Nothing is sent twice.
    assert Dispatcher(notifications).run_once().handled == 0


def test_a_message_queued_in_a_rolled_back_transaction_is_never_sent(
    database: Database, notifications: Notifications
) -> None:
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    with pytest.raises(RuntimeError), database.session() as session:
        notifications.enqueue(
            session, recipient=PERSON, template="offer.made", variables=OFFER, channels=("inbox", "sms")
        )
        raise RuntimeError("the offer could not be stored")
    assert Dispatcher(notifications).run_once().handled == 0
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Recorded)) == 0
    assert notifications.inbox(applicant(PERSON)) == ([], 0)


def _over_http(database: Database, clock: Clock, url: str, **retry: float) -> Notifications:
    config = NotificationConfig.from_mapping(
        {"channels": {"sms": {"gateway": "http", "url": url}}, "retry": retry or {}}
    )
    return Notifications(database, Templates.load(), config, clock=clock)


def test_transient_failures_are_retried_with_exponential_backoff_then_sent(
    database: Database, clock: Clock
) -> None:
    script = GatewayScript(statuses=[503, 503, 429])
    with http_gateway(script) as url:
        notifications = _over_http(database, clock, url, base_seconds=30, cap_seconds=100, max_attempts=6)
        notifications.set_contact(applicant(PERSON), "sms", MOBILE)
        message_id = queue(database, notifications, ("sms",))
        dispatcher = Dispatcher(notifications)
        waits = []
        for _ in range(3):
            before = clock.now
            assert dispatcher.run_once().counts == {"retried": 1}
            (delivery,) = notifications.deliveries(message_id)
            assert delivery.status == "queued"
            waits.append((delivery.next_attempt_at.replace(tzinfo=before.tzinfo) - before).total_seconds())
            clock.advance(waits[-1] - 1)
            assert dispatcher.run_once().handled == 0  # not due yet
            clock.advance(1)
        assert waits == [30, 60, 100]  # doubling, capped at 100 s
        assert dispatcher.run_once().counts == {"sent": 1}
    (delivery,) = notifications.deliveries(message_id)
    assert (delivery.status, delivery.attempts, delivery.gateway_id, delivery.last_error) == (
        "sent",
        4,
        "gw-1",
        None,
    )
    assert script.received[0]["to"] == MOBILE and script.received[0]["reference"] == message_id


def test_after_the_last_attempt_the_delivery_fails_with_the_reason(database: Database, clock: Clock) -> None:
    with http_gateway(GatewayScript(statuses=[500] * 10)) as url:
        notifications = _over_http(database, clock, url, base_seconds=1, cap_seconds=1, max_attempts=3)
        notifications.set_contact(applicant(PERSON), "sms", MOBILE)
        message_id = queue(database, notifications, ("sms",))
        dispatcher = Dispatcher(notifications)
        outcomes = []
        for _ in range(4):
            outcomes.append(dispatcher.run_once().counts)
            clock.advance(1)
    assert outcomes == [{"retried": 1}, {"retried": 1}, {"failed": 1}, {}]
    (delivery,) = notifications.deliveries(message_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        3,
        "网关暂时不可用（HTTP 500）",
    )
    with database.session() as session:
        entry = session.scalars(
            select(AuditLogRecord).where(AuditLogRecord.action == "notification.failed")
        ).one()
    assert "网关暂时不可用" in entry.details and MOBILE not in entry.details and PERSON not in entry.details


def test_a_refusal_by_the_gateway_is_final_at_once(database: Database, clock: Clock) -> None:
    with http_gateway(GatewayScript(statuses=[400])) as url:
        notifications = _over_http(database, clock, url)
        notifications.set_contact(applicant(PERSON), "sms", MOBILE)
        message_id = queue(database, notifications, ("sms",))
        assert Dispatcher(notifications).run_once().counts == {"failed": 1}
    (delivery,) = notifications.deliveries(message_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "failed",
        1,
        "网关拒绝发送（HTTP 400）",
    )


def test_an_unreachable_gateway_is_retried(database: Database, clock: Clock) -> None:
    with http_gateway(GatewayScript()) as url:
        pass  # the server is gone: connection refused
    notifications = _over_http(database, clock, url)
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    message_id = queue(database, notifications, ("sms",))
    assert Dispatcher(notifications).run_once().counts == {"retried": 1}
    assert notifications.deliveries(message_id)[0].last_error == "无法连接网关（ConnectError）"


def test_email_over_smtp_and_a_refused_address(database: Database, clock: Clock) -> None:
    mailbox = Mailbox(refuse={"gone@example.cn"})
    with smtp_relay(mailbox) as port:
        config = NotificationConfig.from_mapping(
            {
                "channels": {
                    "email": {
                        "gateway": "smtp",
                        "host": "127.0.0.1",
                        "port": port,
                        "sender": "noreply@miaopi.cn",
                    }
                }
            }
        )
        notifications = Notifications(database, Templates.load(), config, clock=clock)
        notifications.set_contact(applicant(PERSON), "email", "wang@example.cn")
        notifications.set_contact(applicant(OTHER_PERSON), "email", "gone@example.cn")
        accepted = queue(database, notifications, ("email",))
        refused = queue(database, notifications, ("email",), recipient=OTHER_PERSON)
        assert Dispatcher(notifications).run_once().counts == {"sent": 1, "failed": 1}
    assert statuses(notifications, accepted) == {"email": "sent"}
    assert notifications.deliveries(refused)[0].last_error == "邮件服务器拒收该收件地址"
    ((sender, recipients, data),) = mailbox.messages
    assert sender == "noreply@miaopi.cn" and recipients == ["wang@example.cn"]
    assert "Subject:" in data


def test_the_token_bucket_limits_each_channel(database: Database, clock: Clock) -> None:
    config = NotificationConfig.development()
    config = NotificationConfig(
        channels=config.channels,
        rates={**config.rates, "sms": RateLimit(per_second=2, burst=3)},
        retry=config.retry,
    )
    notifications = Notifications(database, Templates.load(), config, clock=clock)
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    for _ in range(10):
        queue(database, notifications, ("sms", "inbox"))
    dispatcher = Dispatcher(notifications)
    first = dispatcher.run_once().counts
    assert first == {"sent": 3, "delivered": 10}  # the burst on sms; the inbox is not limited here
    assert dispatcher.run_once().handled == 0  # no time has passed: no token
    clock.advance(1)
    assert dispatcher.run_once().counts == {"sent": 2}  # two tokens a second
    clock.advance(100)
    assert dispatcher.run_once().counts == {"sent": 3}  # saved-up tokens stop at the burst
    clock.advance(1)
    assert dispatcher.run_once().counts == {"sent": 2}


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(
    database: Database, notifications: Notifications, clock: Clock
) -> None:
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    queue(database, notifications, ("sms",))
    first, second = Dispatcher(notifications), Dispatcher(notifications)
    (claimed,) = first.claim("sms", 10)
    assert second.claim("sms", 10) == []
    clock.advance(notifications.config.lease_seconds + 1)
    (taken_over,) = second.claim("sms", 10)
    assert second.attempt(taken_over) == "sent"
    # The first dispatcher's lease is gone: it records nothing.
    assert first.attempt(claimed) == "lost"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Recorded)) == 1


def test_two_dispatchers_running_at_once_never_send_a_message_twice(database: Database, clock: Clock) -> None:
    config = NotificationConfig.from_mapping({"channels": {"sms": {"rate_per_second": 10_000}}})
    notifications = Notifications(database, Templates.load(), config, clock=clock)
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    for _ in range(120):
        queue(database, notifications, ("sms",))
    dispatchers = [Dispatcher(notifications, batch=7) for _ in range(2)]
    handled: Counter[int] = Counter()
    errors: list[BaseException] = []

    def drain(index: int) -> None:
        try:
            while (count := dispatchers[index].run_once().handled) > 0:
                handled[index] += count
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=drain, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with database.session() as session:
        per_delivery = Counter(session.scalars(select(Recorded.delivery_id)))
        assert session.scalar(select(func.count()).where(Delivery.status == "sent")) == 120
    assert len(per_delivery) == 120 and set(per_delivery.values()) == {1}
    assert handled[0] + handled[1] == 120


def test_every_state_change_is_in_an_intact_audit_chain(
    database: Database, notifications: Notifications
) -> None:
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    message_id = queue(database, notifications, ("inbox", "sms", "email"))
    Dispatcher(notifications).run_once()
    notifications.mark_read(applicant(PERSON), message_id)
    with database.session() as session:
        assert AuditLog().verify(session).ok
        actions = list(
            session.scalars(
                select(AuditLogRecord.action)
                .where(AuditLogRecord.target == message_id)
                .order_by(AuditLogRecord.seq)
            )
        )
        everything = " ".join(session.scalars(select(AuditLogRecord.details)))
    assert actions[0] == "notification.queued" and actions[-1] == "notification.read"
    assert sorted(actions[1:-1]) == ["notification.delivered", "notification.failed", "notification.sent"]
    assert PERSON not in everything and MOBILE not in everything


def test_the_background_thread_delivers_and_stops(database: Database) -> None:
    notifications = Notifications(database, Templates.load(), NotificationConfig.development())
    background = BackgroundDispatch(Dispatcher(notifications), interval=0.05).start()
    try:
        message_id = queue(database, notifications, ("inbox",))
        deadline = time.monotonic() + 60
        while statuses(notifications, message_id) != {"inbox": "delivered"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert statuses(notifications, message_id) == {"inbox": "delivered"}
    finally:
        background.stop()
    assert not background.running


def test_a_network_channel_claims_no_more_than_one_lease_can_cover(database: Database, clock: Clock) -> None:
    with http_gateway(GatewayScript()) as url:
        config = NotificationConfig.from_mapping(
            {"channels": {"sms": {"gateway": "http", "url": url, "timeout_seconds": 10}}, "lease_seconds": 40}
        )
        notifications = Notifications(database, Templates.load(), config, clock=clock)
        notifications.set_contact(applicant(PERSON), "sms", MOBILE)
        for _ in range(5):
            queue(database, notifications, ("sms",))
        dispatcher = Dispatcher(notifications)
        assert dispatcher.run_once().counts == {"sent": 2}  # 40 s lease / (2 × 10 s timeout)
        assert dispatcher.run_once().counts == {"sent": 2}
        assert dispatcher.run_once().counts == {"sent": 1}


def test_a_slow_gateway_gives_back_what_the_lease_no_longer_covers(database: Database, clock: Clock) -> None:
    script = GatewayScript(on_request=lambda: clock.advance(150))  # each send takes 150 s
    with http_gateway(script) as url:
        config = NotificationConfig.from_mapping(
            {
                "channels": {"sms": {"gateway": "http", "url": url, "timeout_seconds": 10}},
                "lease_seconds": 300,
            }
        )
        notifications = Notifications(database, Templates.load(), config, clock=clock)
        notifications.set_contact(applicant(PERSON), "sms", MOBILE)
        ids = [queue(database, notifications, ("sms",)) for _ in range(3)]
        dispatcher = Dispatcher(notifications)
        assert dispatcher.run_once().counts == {"sent": 2, "released": 1}
        (released,) = [
            message_id for message_id in ids if statuses(notifications, message_id) == {"sms": "queued"}
        ]
        assert notifications.deliveries(released)[0].lease_token is None
        assert dispatcher.run_once().counts == {"sent": 1}  # claimable again at once
    assert len(script.received) == 3 and len({body["reference"] for body in script.received}) == 3


def test_purge_removes_only_old_finished_messages(
    database: Database, notifications: Notifications, clock: Clock
) -> None:
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    old_finished = queue(database, notifications, ("inbox", "sms"))
    Dispatcher(notifications).run_once()
    old_waiting = queue(database, notifications, ("inbox",))  # never dispatched
    clock.advance(86_400 * 400)
    recent = queue(database, notifications, ("inbox",))
    assert notifications.purge(clock.now - dt.timedelta(days=365)) == 1
    assert notifications.deliveries(old_finished) == []
    assert len(notifications.deliveries(old_waiting)) == 1 and len(notifications.deliveries(recent)) == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Recorded)) == 0
        assert AuditLog().verify(session).ok
    assert notifications.purge(clock.now - dt.timedelta(days=365)) == 0


def test_a_dispatcher_that_loses_the_race_for_its_candidates_claims_others(
    database: Database, notifications: Notifications, clock: Clock
) -> None:
    """Another dispatcher leases the rows this one just read, before this one's update: it looks
    again and claims the next due delivery instead of coming back empty (which ended
    ``dispatch --once`` while messages were still due)."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL reads the candidates FOR UPDATE SKIP LOCKED: the race cannot happen there")
    notifications.set_contact(applicant(PERSON), "sms", MOBILE)
    queue(database, notifications, ("sms",))
    queue(database, notifications, ("sms",))
    first, rival = Dispatcher(notifications), Dispatcher(notifications)
    raced = False

    def rival_claims_first(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        nonlocal raced
        if (
            not raced
            and statement.lstrip().upper().startswith("SELECT")
            and "notification_delivery" in statement
        ):
            raced = True
            assert len(rival.claim("sms", 1)) == 1  # leases the candidate just read

    event.listen(database.engine, "after_cursor_execute", rival_claims_first)
    try:
        claimed = first.claim("sms", 1)
    finally:
        event.remove(database.engine, "after_cursor_execute", rival_claims_first)
    assert raced and len(claimed) == 1
