"""The outbox dispatcher: claim due deliveries, send them, record what happened.

One round (:meth:`Dispatcher.run_once`), per channel:

1. **Claim** up to as many due deliveries as the channel's token bucket allows, in one transaction:
   a conditional ``UPDATE … SET lease_token, lease_until WHERE id IN (…) AND status = 'queued' AND
   lease free``. On PostgreSQL a second dispatcher's UPDATE waits for the first one's row locks and
   then re-checks the condition, so it skips what the first took; SQLite has one writer at a time.
   Either way a delivery is held by at most one dispatcher until its lease ends.
2. **Send** through the channel's gateway, outside any transaction for network gateways.
3. **Record** the outcome in one transaction, only if this dispatcher still holds the lease
   (``WHERE lease_token = …``): *sent* / *delivered*, or on a transient error *queued* again after an
   exponential backoff (``retry.base_seconds · 2^(attempts-1)``, capped), or *failed* with the reason
   once ``retry.max_attempts`` is reached or the error is permanent. In-database gateways (the inbox,
   the recording gateway) handle a whole batch in one transaction, re-checking each lease (which
   locks the row) before they write, so a lost lease leaves no trace of them.

The clock is injected: tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from miaopi.audit import AuditRecord
from miaopi.notifications.channels import CONTACT_NAMES, Outgoing, SendFailed, Sent
from miaopi.notifications.config import RateLimit
from miaopi.notifications.models import Contact, Delivery, Message
from miaopi.notifications.outbox import Notifications

log = logging.getLogger("miaopi.notifications")
DISPATCHER_ACTOR = "system:dispatcher"


class TokenBucket:
    """``per_second`` tokens a second, at most ``burst`` saved up; time comes from ``clock``."""

    def __init__(self, limit: RateLimit, clock: Callable[[], dt.datetime]) -> None:
        self.rate = limit.per_second
        self.capacity = limit.burst
        self.clock = clock
        self.tokens = limit.burst
        self.updated = clock()

    def available(self) -> int:
        now = self.clock()
        elapsed = max(0.0, (now - self.updated).total_seconds())
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        return int(self.tokens)

    def take(self, count: int) -> None:
        self.tokens -= count


@dataclass
class Report:
    """What one round did, per outcome: sent, delivered, retried (queued again), failed, lost (lease)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    @property
    def handled(self) -> int:
        return sum(self.counts.values())


DELIVERIES = cast(Table, Delivery.__table__)
# The outcome of one attempt, for one delivery or many at once (executemany), only while the lease holds.
SETTLE = (
    DELIVERIES.update()
    .where(DELIVERIES.c.id == bindparam("b_id"), DELIVERIES.c.lease_token == bindparam("b_token"))
    .values(
        attempts=bindparam("b_attempts"),
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        lease_token=None,
        lease_until=None,
        last_error=bindparam("b_error"),
        gateway_id=bindparam("b_gateway"),
        sent_at=bindparam("b_sent"),
        delivered_at=bindparam("b_delivered"),
        failed_at=bindparam("b_failed"),
    )
)


@dataclass(frozen=True)
class _Settlement:
    outcome: str
    row: dict[str, Any]
    audit: AuditRecord | None


@dataclass(frozen=True)
class _Claimed:
    token: str
    lease_until: dt.datetime
    outgoing: Outgoing
    attempts: int
    missing_contact: bool


class Dispatcher:
    """Sends what the outbox holds. Several dispatchers (threads or processes) may run at once."""

    def __init__(self, notifications: Notifications, *, batch: int = 100, owner: str | None = None) -> None:
        self.notifications = notifications
        self.config = notifications.config
        self.clock = notifications.clock
        self.batch = batch
        self.owner = owner or uuid.uuid4().hex[:8]
        self.buckets = {name: TokenBucket(limit, self.clock) for name, limit in self.config.rates.items()}

    def run_once(self) -> Report:
        """One round over every channel; returns what it did."""
        report = Report()
        for channel in self.config.channels:
            allowed = min(self.batch, self.buckets[channel].available(), self._per_lease(channel))
            if allowed <= 0:
                continue
            claimed = self.claim(channel, allowed)
            self.buckets[channel].take(len(claimed))
            outcomes = self.attempt_all(claimed)
            self.buckets[channel].take(-outcomes.count("released"))  # not sent: the tokens are back
            for outcome in outcomes:
                report.add(outcome)
        return report

    def _per_lease(self, channel: str) -> int:
        """How many deliveries of a network channel one lease can cover: each send may take the
        gateway's whole timeout, and all of them must end well before the lease does."""
        timeout = self.config.channels[channel].gateway.timeout
        if timeout <= 0:
            return self.batch
        return max(1, int(self.config.lease_seconds // (2 * timeout)))

    def claim(self, channel: str, limit: int) -> list[_Claimed]:
        """Lease up to ``limit`` due deliveries of ``channel`` to this dispatcher."""
        now = self.clock()
        token = uuid.uuid4().hex
        lease_until = now + dt.timedelta(seconds=self.config.lease_seconds)
        free = or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
        due = and_(
            Delivery.channel == channel, Delivery.status == "queued", Delivery.next_attempt_at <= now, free
        )
        rows: Sequence[Any] = []
        for _ in range(3):  # another dispatcher took these candidates between our read and update
            with self.notifications.database.session() as session:
                # SKIP LOCKED (PostgreSQL): a dispatcher claiming at the same moment takes other rows
                # instead of losing the race for these. Whoever still loses it (SQLite reads outside
                # the write transaction) looks again — finding nothing would stop ``dispatch --once``
                # while messages are still due.
                candidates = list(
                    session.scalars(
                        select(Delivery.id)
                        .where(due)
                        .order_by(Delivery.next_attempt_at)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                if not candidates:
                    return []
                session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(candidates), due)
                    .values(lease_token=token, lease_until=lease_until)
                )
                rows = session.execute(
                    select(Delivery, Message.title, Contact.address)
                    .join(Message, Message.id == Delivery.message_id)
                    .outerjoin(
                        Contact,
                        and_(Contact.recipient == Message.recipient, Contact.channel == Delivery.channel),
                    )
                    .where(Delivery.lease_token == token)
                    .order_by(Delivery.id)
                ).all()
            if rows:
                break
        needs_address = self.config.channels[channel].needs_address
        return [
            _Claimed(
                token=token,
                lease_until=lease_until,
                outgoing=Outgoing(
                    delivery_id=delivery.id,
                    message_id=delivery.message_id,
                    channel=channel,
                    address=address,
                    title=title,
                    text=delivery.text,
                ),
                attempts=delivery.attempts,
                missing_contact=needs_address and address is None,
            )
            for delivery, title, address in rows
        ]

    def attempt(self, claimed: _Claimed) -> str:
        """Send one claimed delivery and record the outcome; returns the outcome."""
        return self.attempt_all([claimed])[0]

    def attempt_all(self, claimed: list[_Claimed]) -> list[str]:
        """Send claimed deliveries of one channel and record each outcome.

        In-database gateways (inbox, recording) handle the whole batch in one transaction: the
        leases are re-checked first (an UPDATE … RETURNING, which also locks the rows), so a lost
        lease leaves no trace; outcomes and audit entries are then written in bulk. Network gateways
        send outside any transaction, then record each outcome on its own.
        """
        if not claimed:
            return []
        gateway = self.config.channels[claimed[0].outgoing.channel].gateway
        if gateway.in_database:
            return self._attempt_in_database(claimed)
        outcomes: list[str] = []
        for index, item in enumerate(claimed):
            if self.clock() + dt.timedelta(seconds=gateway.timeout) >= item.lease_until:
                # Sending now could outlast the lease (a slow gateway): give the rest back.
                outcomes.extend(self._release(claimed[index:]))
                break
            sent: Sent | None = None
            failure: SendFailed | None = None
            if item.missing_contact:
                failure = self._no_contact(item)
            else:
                sent, failure = self._send(None, item.outgoing)
            settled = self._settlement(item, sent, failure)
            with self.notifications.database.session() as session:
                result = cast(CursorResult[Any], session.execute(SETTLE, settled.row))
                if result.rowcount != 1:
                    outcomes.append(self._lost(item))
                    continue
                if settled.audit is not None:
                    self.notifications.audit.append_many(session, [settled.audit])
            outcomes.append(settled.outcome)
        return outcomes

    def _attempt_in_database(self, claimed: list[_Claimed]) -> list[str]:
        token = claimed[0].token
        with self.notifications.database.session() as session:
            held = set(
                session.scalars(
                    update(Delivery)
                    .where(
                        Delivery.lease_token == token,
                        Delivery.id.in_([item.outgoing.delivery_id for item in claimed]),
                    )
                    .values(lease_token=token)
                    .returning(Delivery.id)
                )
            )
            outcomes: list[str] = []
            settlements: list[_Settlement] = []
            for item in claimed:
                if item.outgoing.delivery_id not in held:
                    outcomes.append(self._lost(item))
                    continue
                if item.missing_contact:
                    settled = self._settlement(item, None, self._no_contact(item))
                else:
                    settled = self._settlement(item, *self._send(session, item.outgoing))
                settlements.append(settled)
                outcomes.append(settled.outcome)
            if settlements:
                session.execute(SETTLE, [settled.row for settled in settlements])
                self.notifications.audit.append_many(
                    session, [settled.audit for settled in settlements if settled.audit is not None]
                )
        return outcomes

    def _release(self, items: list[_Claimed]) -> list[str]:
        with self.notifications.database.session() as session:
            session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_([item.outgoing.delivery_id for item in items]),
                    Delivery.lease_token == items[0].token,
                )
                .values(lease_token=None, lease_until=None)
            )
        return ["released"] * len(items)

    @staticmethod
    def _no_contact(item: _Claimed) -> SendFailed:
        name = CONTACT_NAMES.get(item.outgoing.channel, "联系方式")
        return SendFailed(f"收件人未登记{name}", permanent=True)

    @staticmethod
    def _lost(item: _Claimed) -> str:
        # The lease ran out and another dispatcher holds the delivery now: record nothing.
        log.warning("delivery %s: lease lost before its outcome was recorded", item.outgoing.delivery_id)
        return "lost"

    def _settlement(self, item: _Claimed, sent: Sent | None, failure: SendFailed | None) -> _Settlement:
        """The delivery's new state after this attempt, and its audit entry (none for a retry)."""
        now = self.clock()
        attempts = item.attempts + 1
        row: dict[str, Any] = {
            "b_id": item.outgoing.delivery_id,
            "b_token": item.token,
            "b_attempts": attempts,
            "b_next": now,
            "b_error": None,
            "b_gateway": None,
            "b_sent": None,
            "b_delivered": None,
            "b_failed": None,
        }
        outcome: str
        if sent is not None:
            outcome = sent.status
            row.update(b_status=sent.status, b_sent=now, b_gateway=sent.gateway_id)
            if sent.status == "delivered":
                row["b_delivered"] = now
        else:
            assert failure is not None
            retry = self.config.retry
            row["b_error"] = failure.reason
            if failure.permanent or attempts >= retry.max_attempts:
                outcome = "failed"
                row.update(b_status="failed", b_failed=now)
            else:
                outcome = "retried"
                row.update(b_status="queued", b_next=now + dt.timedelta(seconds=retry.delay(attempts)))
        audit = None
        if outcome != "retried":
            details: dict[str, Any] = {"channel": item.outgoing.channel, "attempts": attempts}
            if failure is not None:
                details["reason"] = failure.reason
            audit = AuditRecord(
                actor=DISPATCHER_ACTOR,
                action=f"notification.{outcome}",
                target=item.outgoing.message_id,
                outcome=outcome,
                details=details,
                at=now,
            )
        return _Settlement(outcome, row, audit)

    def _send(self, session: Session | None, outgoing: Outgoing) -> tuple[Sent | None, SendFailed | None]:
        gateway = self.config.channels[outgoing.channel].gateway
        try:
            return gateway.send(cast(Session, session), outgoing, self.clock()), None
        except SendFailed as failure:
            return None, failure
        except Exception as error:  # a gateway bug must not stop the dispatcher; retried like a glitch
            # The type only: an exception's text may carry the address, which never goes to a log.
            log.error("delivery %s: gateway error %s", outgoing.delivery_id, type(error).__name__)
            return None, SendFailed(f"网关异常（{type(error).__name__}）")


class BackgroundDispatch:
    """A daemon thread running rounds until stopped: at once while there is work, else every
    ``interval`` seconds."""

    def __init__(self, dispatcher: Dispatcher, *, interval: float = 1.0) -> None:
        self.dispatcher = dispatcher
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="miaopi-notifications", daemon=True)

    def start(self) -> BackgroundDispatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.dispatcher.run_once().handled
            except Exception as error:  # the database may be away for a moment; try again later
                log.error("notification dispatch round failed: %s", type(error).__name__)
                handled = 0
            if handled == 0:
                self._stop.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
