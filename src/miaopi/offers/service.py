"""免申即享 offers: from a screening to offers within the budget, confirmation or decline, expiry,
benefit records, payment, the public notice (公示) and the figures.

Every change of a period's offers first locks that period's ``offers_period`` row (an UPDATE, so on
SQLite it takes the write lock before reading and on PostgreSQL a row lock), so two screenings, a
decline and an expiry run never decide the same budget at once; the unique constraint on
(policy, subject, period) is the last guard against a second offer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, cast

import duckdb
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import CursorResult, Table, case, func, insert, select, update
from sqlalchemy.orm import Session

from miaopi.approval import china_today
from miaopi.audit import AuditLog, AuditRecord
from miaopi.auth import Principal
from miaopi.catalog import Catalog, Plan, Policy, TimeLimit
from miaopi.catalog.evaluation import Outcome
from miaopi.catalog.model import Version
from miaopi.clock import CalendarUnknownYear, UnknownYears, WorkingCalendar
from miaopi.identity import mask_identifier
from miaopi.identity.masking import mask_name
from miaopi.notifications import NewMessage
from miaopi.offers.models import Benefit, Offer, OfferPeriod, OfferScreening
from miaopi.offers.periods import Period, PeriodError, parse_period, period_of
from miaopi.offers.priority import priority_values, queue_key
from miaopi.screening import ScreeningError, screen
from miaopi.sharing import AccessRefused, SharingExchange
from miaopi.sharing.sources import quote_literal
from miaopi.store import Database
from miaopi.store.insert_new import insert_for

log = logging.getLogger("miaopi.offers")

DEFAULT_CONFIRM_WITHIN = TimeLimit(30, "自然日")
PROMOTE_BATCH = 1000  # offers made (each with its message) per transaction
REMIND_DAYS = 3  # the daily sweep reminds a subject once when its last day is this close
CHINA = dt.timezone(dt.timedelta(hours=8))
SYSTEM_ACTOR = "system:offers"
OPEN = ("made", "confirmed")  # offers that hold budget
STATUS_LABELS = {
    "waiting": "预算排队中",
    "made": "待确认",
    "confirmed": "已确认",
    "declined": "已放弃",
    "expired": "逾期未确认",
    "withdrawn": "复核不再符合，已撤回",
    "ended": "已终止（不再享受）",
}
STOPPABLE = ("waiting", "made")  # open offers a stop ends (e.g. nobody may confirm for the deceased)
OFFERS = cast(Table, Offer.__table__)


class OfferError(ValueError):
    """The request cannot be carried out as asked (unknown policy, a period of the wrong form …)."""


class OfferConflict(ValueError):
    """The offer or benefit is not in a state that allows the action."""


def fen(amount: float | None) -> int | None:
    """Yuan (as the screening computed it) to fen, rounded half up."""
    if amount is None:
        return None
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(amount_fen: int | None) -> Decimal | None:
    return None if amount_fen is None else Decimal(amount_fen) / 100


class ConfirmIn(BaseModel):
    """The payee account the benefit is paid into (for 稳岗返还: the unit's account)."""

    bank: str = Field(min_length=2, max_length=100, description="开户银行，如 中国工商银行上海市分行")
    account: str = Field(min_length=8, max_length=40, description="银行账号（8–30 位数字，可含空格）")

    @field_validator("bank")
    @classmethod
    def _bank(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 2:
            raise ValueError("开户银行名称过短")
        return value

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        digits = re.sub(r"[\s-]", "", value)
        if not digits.isdigit() or not 8 <= len(digits) <= 30:
            raise ValueError("银行账号应为 8–30 位数字")
        return digits


class PaidIn(BaseModel):
    payment_reference: str = Field(
        min_length=1, max_length=64, description="支付凭证号（国库集中支付或银行流水号）"
    )


@dataclass(frozen=True)
class MakeResult:
    policy_id: str
    period: str
    as_of: dt.date
    screened: int
    eligible: int
    ineligible: int
    unknown: int
    created: int  # new offers (made or waiting)
    made: int  # offers made in this run (new or promoted)
    waiting: int  # waiting after the run
    withdrawn: int
    output: Path


@dataclass(frozen=True)
class ExpiryRun:
    expired: int
    made: int  # waiting offers promoted in place of the expired
    reminded: int  # subjects reminded that their last day is near


@dataclass(frozen=True)
class PolicyStats:
    policy_id: str
    policy_name: str
    period: str
    screened: int
    eligible: int
    offered: int  # ever made (a waiting offer declined before it was made is not counted)
    open: int  # made, waiting for confirmation
    waiting: int
    confirmed: int
    declined: int
    expired: int
    withdrawn: int
    ended: int  # ended by the subject's death (身后一件事)
    paid: int
    eligible_amount: Decimal  # what every eligible subject of the newest screening would receive
    offered_amount: Decimal  # offers ever made
    confirmed_amount: Decimal
    paid_amount: Decimal
    budget: Decimal | None
    budget_left: Decimal | None


@dataclass(frozen=True)
class NoticeEntry:
    name: str
    subject: str
    amount: Decimal
    period: str
    confirmed_on: dt.date


@dataclass(frozen=True)
class OfferBasis:
    """What every offer of one policy version cites — the per-rule explanation, the resources read
    and the amount expression — and how one subject's offer row is built from it. Shared by the bulk
    path (a screening) and the single-subject path (one evaluation, e.g. for a proactive case)."""

    policy: Policy
    version: Version
    explanation: list[dict[str, Any]]
    reads: list[dict[str, Any]]

    def values(
        self,
        subject: str,
        amount: float | None,
        source: dict[str, Any],
        keys: Sequence[float | None],
        as_of: dt.date,
    ) -> dict[str, Any]:
        """The offer's amount, basis, evidence and queue key; ``source`` says where the subject's
        per-rule results come from (a screening file, or one evaluation) and holds them as ``rules``."""
        return {
            "amount_fen": fen(amount),
            "version_hash": self.version.content_hash,
            "screened_on": as_of,
            "explanation": self.explanation,
            "evidence": {
                "screening": source,
                "reads": self.reads,
                "amount": self.version.amount.source if self.version.amount is not None else None,
            },
            "queue_key": queue_key(subject, keys, self.policy.priority_order),
        }

    def new_row(self, subject: str, period: str, values: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """A new offer, waiting until the budget order reaches it (``_promote``)."""
        return {
            "id": _new_id("OF"),
            "policy_id": self.policy.id,
            "policy_name": self.policy.name,
            "department": self.policy.department,
            "subject": subject,
            "period": period,
            "status": "waiting",
            "created_at": now,
            **values,
        }


def _created(row: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        SYSTEM_ACTOR,
        "offers.created",
        row["id"],
        "waiting",
        {"policy": row["policy_id"], "period": row["period"], "amount_fen": row["amount_fen"]},
        row["created_at"],
    )


class NotEligible(OfferError):
    """One subject evaluated under a policy's rules is not (or not certainly) entitled: ``unknown``
    when no rule failed but some could not be decided (a fact missing) — never a refusal."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


Notify = Callable[[Session, Sequence[NewMessage]], list[str]]  # Notifications.enqueue_many


class OfferService:
    # Called in the transaction that confirms an offer (here or under /offers) with the session, the
    # offer, its subject and the time: ProactiveService decides the policy case waiting on the offer.
    on_confirmed: Callable[[Session, str, str, dt.datetime], None] | None = None

    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        exchange: SharingExchange,
        calendar: WorkingCalendar,
        screening_dir: Path,
        *,
        notify: Notify,
        audit: AuditLog | None = None,
        today: Callable[[], dt.date] = china_today,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.exchange = exchange
        self.calendar = calendar
        self.unknown_years = UnknownYears(log, "offers left without a last day to confirm")
        self.screening_dir = screening_dir
        self.audit = audit or AuditLog()
        self.today = today
        self.notify = notify

    # ---- making offers -------------------------------------------------------------------------

    def policy(self, policy_id: str) -> Policy:
        policy = self.catalog.policies.get(policy_id)
        if policy is None:
            known = ", ".join(sorted(self.catalog.policies)) or "无"
            raise OfferError(f"没有政策 {policy_id}；现有：{known}")
        return policy

    def period_and_day(
        self, policy: Policy, period: str | None, as_of: dt.date | None
    ) -> tuple[Period, dt.date]:
        """The period (by default the one containing the as-of date) and the screening's as-of date
        (by default today when today is in the period, else the period's first day)."""
        try:
            chosen = (
                parse_period(period, policy.period)
                if period
                else period_of(as_of or self.today(), policy.period)
            )
        except PeriodError as error:
            raise OfferError(str(error)) from None
        if as_of is None:
            today = self.today()
            as_of = today if chosen.contains(today) else chosen.first_day
        elif not chosen.contains(as_of):
            raise OfferError(
                f"筛查基准日 {as_of} 不在发放期 {chosen.label}（{chosen.first_day} 至 {chosen.last_day}）内"
            )
        return chosen, as_of

    def _basis(self, policy: Policy, version: Version) -> OfferBasis:
        plan = Plan(version, self.catalog.facts)
        return OfferBasis(
            policy,
            version,
            [
                {
                    "rule": rule.id,
                    "result": "pass",
                    "message": rule.pass_message,
                    "legal_basis": str(rule.legal_basis),
                }
                for rule in version.rules
            ],
            [
                {
                    "resource": code,
                    "provider": self.exchange.catalogue.resource(code).provider,
                    "fields": list(fields),
                }
                for code, fields in plan.requests.items()
            ],
        )

    def _version(self, policy: Policy, as_of: dt.date) -> Version:
        version = policy.version_on(as_of)
        if version is None:
            raise OfferError(f"政策“{policy.id}”在 {as_of} 没有生效的版本")
        return version

    def offer_for(
        self, policy_id: str, subject: str, *, as_of: dt.date | None = None, reference: str | None = None
    ) -> Offer:
        """免申即享 for one subject (a proactive case confirmed, say): the offer for the period of
        ``as_of`` (default today), made by the same rules as ``make`` — the policy's rules and amount
        evaluated for this subject alone, its place in the budget order, waiting while the budget is
        used up, made with its message and audit entries under the period's lock. An offer the
        subject already has for the period (from a screening or an earlier call) is returned as it is,
        never a second one. ``reference`` names the case the reads are logged under.

        Raises ``NotEligible`` (with the rules' messages) when the subject is not entitled today."""
        policy = self.policy(policy_id)
        chosen, as_of = self.period_and_day(policy, None, as_of)
        version = self._version(policy, as_of)
        mine = (Offer.policy_id == policy.id, Offer.subject == subject, Offer.period == chosen.label)
        with self.database.session() as session:
            found = session.scalars(select(Offer).where(*mine)).first()
        if found is not None:
            return found
        # The policy's rules, amount and priority keys, evaluated for this subject alone.
        keys_read = [name for key in policy.priority_order for name in key.expression.facts_read]
        plan = Plan(version, self.catalog.facts, also=keys_read)
        evaluation = plan.evaluate_subject(self.exchange, policy, subject, reference, as_of)
        if evaluation.eligibility() is not Outcome.ELIGIBLE:
            with self.database.session() as session:
                self.exchange.access_log.flush(session, reference)
            if not evaluation.failed:  # nothing failed: facts missing, not a refusal
                missing = "；".join(r.message for r in evaluation.unknown)
                raise NotEligible(
                    f"按“{policy.name}”的规则，{as_of} 尚不能确定是否符合享受条件（数据不全）：{missing}",
                    unknown=True,
                )
            reasons = "；".join(r.message for r in evaluation.failed)
            raise NotEligible(f"按“{policy.name}”的规则，{as_of} 不符合享受条件：{reasons}")
        amount = float(evaluation.amount) if evaluation.amount is not None else None
        keys = tuple(_number(key.expression.evaluate(evaluation.values)) for key in policy.priority_order)
        source = {
            "as_of": as_of.isoformat(),
            "case": reference,
            "rules": {r.rule.id: r.outcome.value for r in evaluation.results},
        }
        basis = self._basis(policy, version)
        now = dt.datetime.now(dt.UTC)
        self._ensure_period(policy, chosen.label, now)
        with self.database.session() as session:
            self._lock(session, policy.id, chosen.label, now)
            self.exchange.access_log.flush(session, reference)
            if session.scalars(select(Offer.id).where(*mine)).first() is None:  # none made meanwhile
                row = basis.new_row(
                    subject, chosen.label, basis.values(subject, amount, source, keys, as_of), now
                )
                session.execute(insert(Offer), [row])
                promoted = self._promote(session, policy, chosen.label, now, limit=PROMOTE_BATCH)
                self.audit.append_many(session, [_created(row), *promoted.values()])
            return session.scalars(select(Offer).where(*mine)).one()

    def make(
        self,
        policy_id: str,
        *,
        period: str | None = None,
        as_of: dt.date | None = None,
        screening: Path | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> MakeResult:
        """Screen (or read the screening file ``screening``) and make one offer per eligible subject
        for the period — idempotent: subjects that already have an offer for the period keep it."""
        policy = self.policy(policy_id)
        chosen, as_of = self.period_and_day(policy, period, as_of)
        version = self._version(policy, as_of)
        if screening is None:
            # One file per run (kept: the offers cite it as evidence), so concurrent runs never share one.
            screening = self.screening_dir / f"{as_of.isoformat()}-{policy.id}-{secrets.token_hex(4)}.parquet"
            try:
                screen(self.catalog, self.exchange, as_of, screening, [policy.id], progress=progress)
            except ScreeningError as error:
                raise OfferError(str(error)) from None
        elif not screening.is_file():
            raise OfferError(f"筛查结果文件 {screening} 不存在")
        counts, eligible = self._read_screening(screening, policy.id, version.content_hash)
        # The order only matters when a budget can run out; without one every key is NULL.
        keys = (
            priority_values(self.catalog, self.exchange, policy, as_of) if policy.budget is not None else {}
        )
        unranked: tuple[float | None, ...] = (None,) * len(policy.priority_order)
        basis = self._basis(policy, version)
        source = {"as_of": as_of.isoformat(), "file": str(screening)}
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            self.exchange.access_log.flush(session)
        budget_fen = self._ensure_period(policy, chosen.label, now)
        with self.database.session() as session:
            self._lock(session, policy.id, chosen.label, now, budget_fen=budget_fen)
            existing = {
                row.subject: (row.id, row.status, (row.amount_fen, row.version_hash, row.queue_key))
                for row in session.execute(
                    select(
                        Offer.subject,
                        Offer.id,
                        Offer.status,
                        Offer.amount_fen,
                        Offer.version_hash,
                        Offer.queue_key,
                    ).where(Offer.policy_id == policy.id, Offer.period == chosen.label)
                )
            }
            new_rows: list[dict[str, Any]] = []
            refreshed: list[dict[str, Any]] = []
            for subject, amount, rules in eligible:
                values = basis.values(
                    subject, amount, {**source, "rules": rules}, keys.get(subject, unranked), as_of
                )
                found = existing.get(subject)
                if found is None:
                    new_rows.append(basis.new_row(subject, chosen.label, values, now))
                elif found[1] == "waiting" and found[2] != (
                    values["amount_fen"],
                    values["version_hash"],
                    values["queue_key"],
                ):
                    # Not offered yet: the newest screening decides its amount and place in the queue.
                    refreshed.append({"id": found[0], **values})
            still = {subject for subject, _amount, _rules in eligible}
            withdrawn = [
                offer_id
                for subject, (offer_id, status, _basis) in existing.items()
                if status == "waiting" and subject not in still
            ]
            for start in range(0, len(new_rows), 2000):
                session.execute(insert(Offer), new_rows[start : start + 2000])
            if refreshed:
                session.execute(update(Offer), refreshed)
            if withdrawn:  # by primary key (no IN list: there may be tens of thousands)
                session.execute(
                    update(Offer),
                    [{"id": offer_id, "status": "withdrawn", "closed_at": now} for offer_id in withdrawn],
                )
            session.add(
                OfferScreening(
                    policy_id=policy.id,
                    period=chosen.label,
                    as_of=as_of,
                    version_hash=version.content_hash,
                    screened=counts["screened"],
                    eligible=counts["eligible"],
                    ineligible=counts["ineligible"],
                    unknown=counts["unknown"],
                    eligible_amount_fen=sum(fen(amount) or 0 for _subject, amount, _rules in eligible),
                    created=len(new_rows),
                    run_at=now,
                    output=str(screening),
                )
            )
            records = [_created(row) for row in new_rows]
            records += [
                AuditRecord(
                    SYSTEM_ACTOR,
                    "offers.withdrawn",
                    offer_id,
                    "withdrawn",
                    {"policy": policy.id, "period": chosen.label, "as_of": as_of.isoformat()},
                    now,
                )
                for offer_id in withdrawn
            ]
            self.audit.append_many(session, records)
        # Then offer in queue order, a batch per transaction (each offer made with its message), so a
        # district's worth of messages never holds the store's write lock for minutes at a time.
        made = 0
        while True:
            with self.database.session() as session:
                self._lock(session, policy.id, chosen.label, now)
                batch = self._promote(session, policy, chosen.label, now, limit=PROMOTE_BATCH)
                self.audit.append_many(session, list(batch.values()))
            made += len(batch)
            if len(batch) < PROMOTE_BATCH:
                break
        with self.database.session() as session:
            waiting = session.scalar(
                select(func.count()).where(
                    Offer.policy_id == policy.id, Offer.period == chosen.label, Offer.status == "waiting"
                )
            )
        return MakeResult(
            policy_id=policy.id,
            period=chosen.label,
            as_of=as_of,
            screened=counts["screened"],
            eligible=counts["eligible"],
            ineligible=counts["ineligible"],
            unknown=counts["unknown"],
            created=len(new_rows),
            made=made,
            waiting=int(waiting or 0),
            withdrawn=len(withdrawn),
            output=screening,
        )

    def _read_screening(
        self, path: Path, policy_id: str, version_hash: str
    ) -> tuple[dict[str, int], list[tuple[str, float | None, dict[str, str]]]]:
        connection = duckdb.connect()
        try:
            source = f"read_parquet({quote_literal(str(path))}) WHERE policy_id = {quote_literal(policy_id)}"
            hashes = [
                row[0] for row in connection.execute(f"SELECT DISTINCT version_hash FROM {source}").fetchall()
            ]
            if hashes and hashes != [version_hash]:
                raise OfferError(
                    f"筛查结果 {path} 由政策“{policy_id}”的其他版本得出（{', '.join(hashes)}），与基准日生效版本不一致"
                )
            row = connection.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'eligible'), "
                "count(*) FILTER (WHERE status = 'ineligible'), count(*) FILTER (WHERE status = 'unknown') "
                f"FROM {source}"
            ).fetchone()
            assert row is not None
            eligible = [
                (str(subject), None if amount is None else float(amount), json.loads(rules))
                for subject, amount, rules in connection.execute(
                    f"SELECT subject, amount, rules FROM {source} AND status = 'eligible' ORDER BY subject"
                ).fetchall()
            ]
        except duckdb.Error as error:
            raise OfferError(f"无法读取筛查结果 {path}：{error}") from None
        finally:
            connection.close()
        counts = dict(zip(("screened", "eligible", "ineligible", "unknown"), map(int, row), strict=True))
        return counts, eligible

    def _ensure_period(self, policy: Policy, period: str, now: dt.datetime) -> int | None:
        """Create the period's row once (concurrent creators: one inserts, the others find it)."""
        budget_fen = fen(policy.budget)
        values = {"policy_id": policy.id, "period": period, "budget_fen": budget_fen, "changed_at": now}
        with self.database.session() as session:
            session.execute(
                insert_for(self.database.dialect)(OfferPeriod).values(**values).on_conflict_do_nothing()
            )
        return budget_fen

    def _lock(self, session: Session, policy_id: str, period: str, now: dt.datetime, **values: Any) -> None:
        """Lock the period's row for the rest of the transaction (and store ``values`` on it)."""
        session.execute(
            update(OfferPeriod)
            .where(OfferPeriod.policy_id == policy_id, OfferPeriod.period == period)
            .values(changed_at=now, **values)
        )

    def _promote(
        self, session: Session, policy: Policy, period: str, now: dt.datetime, *, limit: int | None = None
    ) -> dict[str, AuditRecord]:
        """Make waiting offers in queue order while the budget allows; the first that does not fit
        stops the queue (nobody overtakes). Returns the audit records of the offers made, by id.
        The caller holds the period's lock."""
        budget_fen = session.scalar(
            select(OfferPeriod.budget_fen).where(
                OfferPeriod.policy_id == policy.id, OfferPeriod.period == period
            )
        )
        left: int | None = None
        if budget_fen is not None:
            committed = session.scalar(
                select(func.coalesce(func.sum(Offer.amount_fen), 0)).where(
                    Offer.policy_id == policy.id, Offer.period == period, Offer.status.in_(OPEN)
                )
            )
            left = int(budget_fen) - int(committed or 0)
        chosen: list[tuple[str, str, int | None]] = []
        queue = (
            select(Offer.id, Offer.subject, Offer.amount_fen)
            .where(Offer.policy_id == policy.id, Offer.period == period, Offer.status == "waiting")
            .order_by(Offer.queue_key)
        )
        for offer_id, subject, amount_fen in session.execute(queue if limit is None else queue.limit(limit)):
            if left is not None:
                if (amount_fen or 0) > left:
                    break
                left -= amount_fen or 0
            chosen.append((offer_id, subject, amount_fen))
        if not chosen:
            return {}
        today = self.today()
        expires_on = self._expiry(policy, today)
        session.execute(
            update(Offer),
            [
                {"id": offer_id, "status": "made", "made_at": now, "expires_on": expires_on}
                for offer_id, _s, _a in chosen
            ],
        )
        deadline = expires_on.isoformat() if expires_on else "另行通知的日期"
        # One call for the whole batch: its messages are queued with one INSERT per table and one
        # audit append, not a head lock per offer.
        self.notify(
            session,
            [
                NewMessage(
                    recipient=subject,
                    template="offer.made",
                    variables={
                        "policy": policy.name,
                        "amount": _amount_text(period, amount_fen),
                        "deadline": deadline,
                    },
                    reference=offer_id,
                )
                for offer_id, subject, amount_fen in chosen
            ],
        )
        records: dict[str, AuditRecord] = {}
        for offer_id, _subject, amount_fen in chosen:
            records[offer_id] = AuditRecord(
                SYSTEM_ACTOR,
                "offers.made",
                offer_id,
                "made",
                {
                    "policy": policy.id,
                    "period": period,
                    "amount_fen": amount_fen,
                    "expires_on": expires_on.isoformat() if expires_on else None,
                },
                now,
            )
        return records

    def _expiry(self, policy: Policy, made_on: dt.date) -> dt.date | None:
        limit = policy.confirm_within or DEFAULT_CONFIRM_WITHIN
        try:
            return self.calendar.deadline(made_on, limit.value, limit.unit)
        except CalendarUnknownYear as error:
            # Never guessed: the offer stays open and `miaopi offers expire` sets the date once the
            # year is in the calendar (chinesecalendar or calendar.yaml). Logged once an hour, not
            # once per offer: a district's make is tens of thousands of offers.
            self.unknown_years.left_open(error)
            return None

    # ---- expiry --------------------------------------------------------------------------------

    def expire(self, today: dt.date | None = None) -> ExpiryRun:
        """The daily sweep (``miaopi offers expire``): expire offers not confirmed by their last day
        and promote waiting ones in their place; remind subjects whose last day is near (once)."""
        today = today or self.today()
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            undated = session.execute(
                select(Offer.id, Offer.policy_id, Offer.made_at).where(
                    Offer.status == "made", Offer.expires_on.is_(None)
                )
            ).all()
            for offer_id, policy_id, made_at in undated:
                policy = self.catalog.policies.get(policy_id)
                if policy is None or made_at is None:
                    continue
                expires_on = self._expiry(policy, made_at.astimezone(CHINA).date())
                if expires_on is not None:
                    session.execute(update(Offer).where(Offer.id == offer_id).values(expires_on=expires_on))
            periods = session.execute(
                select(Offer.policy_id, Offer.period)
                .where(Offer.status == "made", Offer.expires_on < today)
                .distinct()
            ).all()
        expired = made = 0
        for policy_id, period in periods:
            with self.database.session() as session:
                self._lock(session, policy_id, period, now)
                lapsed = (
                    Offer.policy_id == policy_id,
                    Offer.period == period,
                    Offer.status == "made",
                    Offer.expires_on < today,
                )
                ids = list(session.scalars(select(Offer.id).where(*lapsed)))
                session.execute(update(Offer).where(*lapsed).values(status="expired", closed_at=now))
                records = [
                    AuditRecord(
                        SYSTEM_ACTOR, "offers.expired", offer_id, "expired", {"on": today.isoformat()}, now
                    )
                    for offer_id in ids
                ]
                promoted: dict[str, AuditRecord] = {}
                policy = self.catalog.policies.get(policy_id)
                if policy is not None:
                    promoted = self._promote(session, policy, period, now)
                self.audit.append_many(session, [*records, *promoted.values()])
                expired += len(ids)
                made += len(promoted)
        return ExpiryRun(expired=expired, made=made, reminded=self._remind(today, now))

    def _remind(self, today: dt.date, now: dt.datetime) -> int:
        """One ``offer.expiring`` message to each subject whose last day is within REMIND_DAYS."""
        reminders: list[NewMessage] = []
        with self.database.session() as session:
            due = session.execute(
                select(
                    Offer.id,
                    Offer.subject,
                    Offer.policy_name,
                    Offer.period,
                    Offer.amount_fen,
                    Offer.expires_on,
                )
                .where(
                    Offer.status == "made",
                    Offer.reminded_at.is_(None),
                    Offer.expires_on >= today,
                    Offer.expires_on <= today + dt.timedelta(days=REMIND_DAYS),
                )
                .order_by(Offer.id)
            ).all()
            for offer_id, subject, policy_name, period, amount_fen, expires_on in due:
                marked = cast(
                    CursorResult[Any],
                    session.execute(
                        update(Offer)
                        .where(Offer.id == offer_id, Offer.reminded_at.is_(None))
                        .values(reminded_at=now)
                    ),
                )
                if marked.rowcount != 1:
                    continue
                reminders.append(
                    NewMessage(
                        recipient=subject,
                        template="offer.expiring",
                        variables={
                            "policy": policy_name,
                            "amount": _amount_text(period, amount_fen),
                            "deadline": str(expires_on),  # never NULL here (filtered by date)
                        },
                        reference=offer_id,
                    )
                )
            self.notify(session, reminders)
        return len(reminders)

    # ---- the subject: list, confirm, decline ---------------------------------------------------

    @staticmethod
    def _subject(principal: Principal) -> str:
        if principal.kind != "applicant" or not principal.subject_id:
            raise PermissionError("只有申请人本人可以查看和确认自己的免申即享事项")
        return principal.subject_id

    def offers_of(self, principal: Principal, *, limit: int = 200) -> list[Offer]:
        subject = self._subject(principal)
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(Offer)
                    .where(Offer.subject == subject, Offer.status != "withdrawn")
                    .order_by(Offer.created_at.desc(), Offer.id)
                    .limit(limit)
                )
            )

    def offer_of(self, principal: Principal, offer_id: str) -> Offer:
        return self._owned(self._subject(principal), offer_id)

    def _owned(self, subject: str, offer_id: str) -> Offer:
        with self.database.session() as session:
            offer = session.get(Offer, offer_id)
            if offer is None or offer.subject != subject:
                raise LookupError(f"没有免申即享事项 {offer_id}")
            return offer

    def confirm(self, principal: Principal, offer_id: str, payee: ConfirmIn) -> Benefit:
        """The subject confirms and names the account: the offer becomes a benefit record (to pay)."""
        return self.confirm_for(self._subject(principal), offer_id, payee, actor=principal.actor)

    def confirm_for(self, subject: str, offer_id: str, payee: ConfirmIn, *, actor: str) -> Benefit:
        """``subject``'s offer confirmed by ``actor`` (the subject, or the contact who confirmed its
        proactive case): the same checks, benefit record and audit entries as ``confirm``."""
        offer = self._owned(subject, offer_id)
        today = self.today()
        name = self._payee_name(offer.policy_id, offer.subject)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            self.exchange.access_log.flush(session)
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(Offer)
                    .where(
                        Offer.id == offer_id,
                        Offer.status == "made",
                        (Offer.expires_on.is_(None)) | (Offer.expires_on >= today),
                    )
                    .values(status="confirmed", closed_at=now)
                ),
            )
            if result.rowcount != 1:
                self._refuse(session, offer_id, today, "确认")
            stored = session.get(Offer, offer_id)
            assert stored is not None
            session.refresh(stored)
            benefit = Benefit(
                id=_new_id("BF"),
                offer_id=offer_id,
                policy_id=stored.policy_id,
                department=stored.department,
                payee=stored.subject,
                payee_name=name,
                bank=payee.bank,
                account=payee.account,
                amount_fen=stored.amount_fen or 0,
                period=stored.period,
                version_hash=stored.version_hash,
                evidence={
                    "explanation": stored.explanation,
                    "screening": stored.evidence,
                    "offer": {
                        "id": offer_id,
                        "made_at": stored.made_at.isoformat() if stored.made_at else None,
                    },
                },
                confirmed_at=now,
                status="to_pay",
            )
            session.add(benefit)
            session.flush()
            details = {
                "policy": stored.policy_id,
                "period": stored.period,
                "amount_fen": benefit.amount_fen,
                "version_hash": stored.version_hash,
                "account": mask_identifier(payee.account),
            }
            self.audit.append_many(
                session,
                [
                    AuditRecord(actor, "offers.confirmed", offer_id, "confirmed", details, now),
                    AuditRecord(actor, "benefits.created", benefit.id, "to_pay", details, now),
                ],
            )
            if self.on_confirmed is not None:
                self.on_confirmed(session, offer_id, stored.subject, now)
            return benefit

    def benefit_of(self, offer_id: str) -> Benefit | None:
        """The benefit record a confirmed offer became."""
        with self.database.session() as session:
            return session.scalars(select(Benefit).where(Benefit.offer_id == offer_id)).first()

    def payee_on_file(self, policy_id: str, subject: str) -> ConfirmIn | None:
        """The account the subject named when it last confirmed this policy (a monthly allowance is
        paid into the same account month after month), or None."""
        with self.database.session() as session:
            last = session.scalars(
                select(Benefit)
                .where(Benefit.policy_id == policy_id, Benefit.payee == subject)
                .order_by(Benefit.confirmed_at.desc())
                .limit(1)
            ).first()
        return None if last is None else ConfirmIn(bank=last.bank, account=last.account)

    # ---- what must stop (a death) ---------------------------------------------------------------

    def stop_after(
        self,
        session: Session,
        policy_id: str,
        subject: str,
        last_day: dt.date,
        *,
        actor: str,
        reason: str,
    ) -> list[AuditRecord]:
        """The subject's entitlement under the policy ends after ``last_day`` — 身后一件事: a death
        stops the deceased's allowance — in the caller's transaction (the one that stores the event).
        Offers still open (waiting or made) end: nobody can confirm them any more, so no message or
        reminder goes out; benefit records not yet paid for a period that starts after ``last_day``
        are stopped (no payment) and their offers end too. The period containing ``last_day`` is still
        owed and stays to pay. Each period's lock is taken first (in order), and the budget given back
        goes to the next in the queue. Returns the audit records (``offers.ended``,
        ``benefits.stopped``, and ``offers.made`` for any promoted)."""
        policy = self.catalog.policies.get(policy_id)
        if policy is None:
            return []
        now = dt.datetime.now(dt.UTC)
        labels = session.scalars(
            select(Offer.period).where(Offer.policy_id == policy_id, Offer.subject == subject).distinct()
        ).all()
        details = {"reason": reason, "last_day": last_day.isoformat()}
        records: list[AuditRecord] = []
        for label in sorted(labels):
            after = parse_period(label, policy.period).first_day > last_day
            self._lock(session, policy_id, label, now)
            offers = session.scalars(
                select(Offer.id).where(
                    Offer.policy_id == policy_id, Offer.subject == subject, Offer.period == label
                )
            ).all()
            stopped = [self._stop_offer(session, offer_id, after, now) for offer_id in offers]
            if not any(stopped):
                continue
            for offer_id, benefit_id in (entry for entry in stopped if entry):
                records.append(AuditRecord(actor, "offers.ended", offer_id, "ended", details, now))
                if benefit_id is not None:
                    records.append(
                        AuditRecord(actor, "benefits.stopped", benefit_id, "stopped", details, now)
                    )
            records += self._promote(session, policy, label, now, limit=PROMOTE_BATCH).values()
        return records

    def _stop_offer(
        self, session: Session, offer_id: str, after: bool, now: dt.datetime
    ) -> tuple[str, str | None] | None:
        """End one offer of a subject whose entitlement stopped: an open one (waiting, made) always;
        a confirmed one only for a period after the last day entitled, and only while its benefit is
        still to pay (a paid one stays as it is). Every update names the state it expects, and a
        state changed meanwhile (confirmed, declined, paid by another transaction) is read again
        once: ``(offer id, benefit stopped or None)`` when something ended, else None."""
        for _ in range(2):
            offer_status = session.scalar(select(Offer.status).where(Offer.id == offer_id))
            if offer_status in STOPPABLE:
                if _changed(
                    session,
                    update(Offer)
                    .where(Offer.id == offer_id, Offer.status == offer_status)
                    .values(status="ended", closed_at=now),
                ):
                    return offer_id, None
                continue
            if offer_status != "confirmed" or not after:
                return None
            benefit_id = session.scalar(
                select(Benefit.id).where(Benefit.offer_id == offer_id, Benefit.status == "to_pay")
            )
            if benefit_id is None:
                return None  # paid (or never made): what was paid stays paid
            if not _changed(
                session,
                update(Benefit)
                .where(Benefit.id == benefit_id, Benefit.status == "to_pay")
                .values(status="stopped"),
            ):
                continue
            session.execute(
                update(Offer)
                .where(Offer.id == offer_id, Offer.status == "confirmed")
                .values(status="ended", closed_at=now)
            )
            return offer_id, benefit_id
        return None

    def decline(self, principal: Principal, offer_id: str) -> Offer:
        """The subject declines (an offer made, or one still waiting); the budget it held goes to the
        next in the queue."""
        offer = self.offer_of(principal, offer_id)
        policy = self.catalog.policies.get(offer.policy_id)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            self._lock(session, offer.policy_id, offer.period, now)
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(Offer)
                    .where(Offer.id == offer_id, Offer.status.in_(("made", "waiting")))
                    .values(status="declined", closed_at=now)
                ),
            )
            if result.rowcount != 1:
                self._refuse(session, offer_id, self.today(), "放弃")
            promoted = self._promote(session, policy, offer.period, now) if policy is not None else {}
            self.audit.append_many(
                session,
                [
                    AuditRecord(
                        principal.actor,
                        "offers.declined",
                        offer_id,
                        "declined",
                        {"period": offer.period},
                        now,
                    ),
                    *promoted.values(),
                ],
            )
            stored = session.get(Offer, offer_id)
            assert stored is not None
            session.refresh(stored)
            return stored

    def _refuse(self, session: Session, offer_id: str, today: dt.date, action: str) -> None:
        offer = session.get(Offer, offer_id)
        assert offer is not None
        session.refresh(offer)
        if offer.status == "made" and offer.expires_on is not None and offer.expires_on < today:
            raise OfferConflict(f"已超过确认期限（{offer.expires_on}），不能{action}")
        raise OfferConflict(f"该事项{STATUS_LABELS.get(offer.status, offer.status)}，不能{action}")

    def _payee_name(self, policy_id: str, subject: str) -> str | None:
        """The registered name, for the benefit record and (masked) the public notice."""
        policy = self.catalog.policies.get(policy_id)
        registry = self.catalog.facts.registries.get(policy.subject) if policy else None
        if policy is None or registry is None:
            return None
        try:
            facts = self.exchange.read_subject(
                department=policy.department,
                purpose=policy.purpose,
                subject=subject,
                requests={registry: ("name",)},
            )
        except AccessRefused as error:
            log.warning("payee name not read: %s", error.message)
            return None
        record = facts.one(registry)
        value = record.get("name") if record is not None else None
        return str(value) if value else None

    # ---- the department: benefits to pay, paid -------------------------------------------------

    @staticmethod
    def _department(principal: Principal) -> str:
        if principal.kind != "officer" or principal.department is None:
            raise PermissionError("只有实施部门的工作人员可以办理支付")
        return principal.department

    def benefits(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        policy_id: str | None = None,
        limit: int = 200,
    ) -> list[Benefit]:
        department = self._department(principal)
        query = select(Benefit).where(Benefit.department == department)
        if status:
            query = query.where(Benefit.status == status)
        if policy_id:
            query = query.where(Benefit.policy_id == policy_id)
        with self.database.session() as session:
            return list(session.scalars(query.order_by(Benefit.confirmed_at, Benefit.id).limit(limit)))

    def mark_paid(self, principal: Principal, benefit_id: str, paid: PaidIn) -> Benefit:
        department = self._department(principal)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            benefit = session.get(Benefit, benefit_id)
            if benefit is None or benefit.department != department:
                raise LookupError(f"本部门没有待支付记录 {benefit_id}")
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(Benefit)
                    .where(Benefit.id == benefit_id, Benefit.status == "to_pay")
                    .values(
                        status="paid",
                        paid_at=now,
                        paid_by=principal.actor,
                        payment_reference=paid.payment_reference,
                    )
                ),
            )
            if result.rowcount != 1:
                session.refresh(benefit)
                if benefit.status == "stopped":
                    raise OfferConflict(f"记录 {benefit_id} 已停发（不再享受），不能登记支付")
                raise OfferConflict(f"记录 {benefit_id} 已支付，不能重复登记")
            session.refresh(benefit)
            policy = self.catalog.policies.get(benefit.policy_id)
            self.notify(
                session,
                [
                    NewMessage(
                        recipient=benefit.payee,
                        template="benefit.paid",
                        variables={
                            "policy": policy.name if policy else benefit.policy_id,
                            "amount": _amount_text(benefit.period, benefit.amount_fen),
                        },
                        reference=benefit_id,
                    )
                ],
            )
            self.audit.append(
                session,
                actor=principal.actor,
                action="benefits.paid",
                target=benefit_id,
                outcome="paid",
                details={"payment_reference": paid.payment_reference, "amount_fen": benefit.amount_fen},
                at=now,
            )
            return benefit

    # ---- public: notice and figures ------------------------------------------------------------

    def notice(
        self, policy_id: str, *, period: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[NoticeEntry]:
        """公示: confirmed benefits of a policy, names and identifiers masked."""
        self.policy(policy_id)
        query = select(
            Benefit.payee_name, Benefit.payee, Benefit.amount_fen, Benefit.period, Benefit.confirmed_at
        ).where(Benefit.policy_id == policy_id)
        if period:
            query = query.where(Benefit.period == period)
        query = query.order_by(Benefit.period, Benefit.confirmed_at, Benefit.id).limit(limit).offset(offset)
        with self.database.session() as session:
            return [
                NoticeEntry(
                    name=mask_name(name) if name else "—",
                    subject=mask_identifier(payee),
                    amount=Decimal(amount_fen) / 100,
                    period=label,
                    confirmed_on=confirmed_at.astimezone(CHINA).date(),
                )
                for name, payee, amount_fen, label, confirmed_at in session.execute(query)
            ]

    def stats(self, policy_id: str | None = None, period: str | None = None) -> list[PolicyStats]:
        """Per policy and period: screened, eligible (newest screening), offers by status, paid,
        amounts and the budget left — counted in the database."""
        if policy_id is not None:
            self.policy(policy_id)

        def count(*statuses: str) -> Any:
            return func.coalesce(func.sum(case((Offer.status.in_(statuses), 1), else_=0)), 0)

        def amount(*statuses: str) -> Any:
            return func.coalesce(func.sum(case((Offer.status.in_(statuses), Offer.amount_fen), else_=0)), 0)

        offers = select(
            Offer.policy_id,
            Offer.period,
            func.coalesce(func.sum(case((Offer.made_at.is_not(None), 1), else_=0)), 0),  # ever made
            count("made"),
            count("waiting"),
            count("confirmed"),
            count("declined"),
            count("expired"),
            count("withdrawn"),
            count("ended"),
            amount("confirmed"),
            amount(*OPEN),
            func.coalesce(func.sum(case((Offer.made_at.is_not(None), Offer.amount_fen), else_=0)), 0),
        ).group_by(Offer.policy_id, Offer.period)
        paid = (
            select(
                Benefit.policy_id,
                Benefit.period,
                func.count(),
                func.coalesce(func.sum(Benefit.amount_fen), 0),
            )
            .where(Benefit.status == "paid")
            .group_by(Benefit.policy_id, Benefit.period)
        )
        newest = (
            select(OfferScreening.policy_id, OfferScreening.period, func.max(OfferScreening.id).label("id"))
            .group_by(OfferScreening.policy_id, OfferScreening.period)
            .subquery()
        )
        screenings = select(OfferScreening).join(newest, OfferScreening.id == newest.c.id)
        periods = select(OfferPeriod)
        if policy_id is not None:
            offers = offers.where(Offer.policy_id == policy_id)
            paid = paid.where(Benefit.policy_id == policy_id)
            periods = periods.where(OfferPeriod.policy_id == policy_id)
        if period is not None:
            offers = offers.where(Offer.period == period)
            paid = paid.where(Benefit.period == period)
            periods = periods.where(OfferPeriod.period == period)
        with self.database.session() as session:
            by_period = {(row[0], row[1]): row[2:] for row in session.execute(offers)}
            paid_by = {(row[0], row[1]): row[2:] for row in session.execute(paid)}
            screened = {(row.policy_id, row.period): row for row in session.scalars(screenings)}
            rows = list(session.scalars(periods.order_by(OfferPeriod.policy_id, OfferPeriod.period)))
        result: list[PolicyStats] = []
        for row in rows:
            key = (row.policy_id, row.period)
            (
                offered,
                open_,
                waiting,
                confirmed,
                declined,
                expired,
                withdrawn,
                ended,
                confirmed_fen,
                held_fen,
                offered_fen,
            ) = by_period.get(key, (0,) * 11)
            paid_count, paid_fen = paid_by.get(key, (0, 0))
            latest = screened.get(key)
            policy = self.catalog.policies.get(row.policy_id)
            budget = yuan(row.budget_fen)
            result.append(
                PolicyStats(
                    policy_id=row.policy_id,
                    policy_name=policy.name if policy else row.policy_id,
                    period=row.period,
                    screened=latest.screened if latest else 0,
                    eligible=latest.eligible if latest else 0,
                    offered=int(offered),
                    open=int(open_),
                    waiting=int(waiting),
                    confirmed=int(confirmed),
                    declined=int(declined),
                    expired=int(expired),
                    withdrawn=int(withdrawn),
                    ended=int(ended),
                    paid=int(paid_count),
                    eligible_amount=Decimal(latest.eligible_amount_fen if latest else 0) / 100,
                    offered_amount=Decimal(int(offered_fen)) / 100,
                    confirmed_amount=Decimal(int(confirmed_fen)) / 100,
                    paid_amount=Decimal(int(paid_fen)) / 100,
                    budget=budget,
                    budget_left=None
                    if row.budget_fen is None
                    else Decimal(row.budget_fen - int(held_fen)) / 100,
                )
            )
        return result


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _changed(session: Session, statement: Any) -> bool:
    """Run a conditional UPDATE; True when it changed a row (the state it expected was still there)."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def _amount_text(period: str, amount_fen: int | None) -> str:
    amount = yuan(amount_fen)
    return f"{period} {amount:,.2f} 元" if amount is not None else f"{period} 待遇"


_ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _new_id(prefix: str) -> str:
    """``OF`` / ``BF`` and 16 letters (about 73 bits): no digits, so an id can never look like a
    phone, card or ID number to the outbox's personal-data check (it is a message's reference)."""
    return prefix + "".join(secrets.choice(_ID_LETTERS) for _ in range(16))


def payee_grants(catalog: Catalog) -> list[tuple[str, str, str]]:
    """(department, purpose, registry) whose ``name`` each policy's department reads for its benefit
    records and the public notice (公示 names the beneficiaries, masked)."""
    found: list[tuple[str, str, str]] = []
    for policy in catalog.policies.values():
        registry = catalog.facts.registries.get(policy.subject)
        if registry is None:
            continue
        if "name" in catalog.facts.resources.resource(registry).field_names:
            found.append((policy.department, policy.purpose, registry))
    return found


__all__: Sequence[str] = (
    "DEFAULT_CONFIRM_WITHIN",
    "REMIND_DAYS",
    "STATUS_LABELS",
    "ConfirmIn",
    "ExpiryRun",
    "MakeResult",
    "NotEligible",
    "NoticeEntry",
    "OfferBasis",
    "OfferConflict",
    "OfferError",
    "OfferService",
    "PaidIn",
    "PolicyStats",
    "payee_grants",
)
