"""服务跟踪: a proactive case from the subject's side — view, verify identity (face check), confirm,
or decline — and the platform's side: reminders, expiry, the 秒批 decision, delivery.

Each transition is one conditional UPDATE (the case moves only from the states it may move from),
with its step and audit entry in the same transaction. The subject needs at most three
interactions: view, face check, confirm.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from miaopi.approval import ApplicationIn, ApprovalService
from miaopi.approval.intake import ApplicantIn
from miaopi.approval.models import Application
from miaopi.audit import AuditLog
from miaopi.auth import Principal, Verifier
from miaopi.catalog import Catalog
from miaopi.identity import IdentifierError as LicenceIdentifierError
from miaopi.licence.models import IssuedLicence
from miaopi.licence.service import LicenceConflict, LicenceService
from miaopi.notifications import Notifications
from miaopi.offers import ConfirmIn, NotEligible, OfferConflict, OfferError, OfferService
from miaopi.offers.models import Offer
from miaopi.proactive.detect import STEP_LABELS, SYSTEM
from miaopi.proactive.models import OPEN, CourierRecord, ProactiveCase, ProactiveStep
from miaopi.store import Database

STATUS_LABELS = {
    "detected": "已发现",
    "notified": "待查看",
    "viewed": "待核验身份",
    "verified": "待确认",
    "confirmed": "已确认，审批中",
    "decided": "已作出决定",
    "delivered": "已办结送达",
    "declined": "已放弃",
    "expired": "已逾期",
    "ended": "已终止（当事人已死亡）",
}


class CaseNotFound(LookupError):
    """No such case for this principal (the same answer whether absent or someone else's)."""


class ProactiveConflict(ValueError):
    """The case is not in a state that allows the action; the message says which state it is in."""


class PayeeRequired(ValueError):
    """A benefit case is confirmed without the account to pay into, and none is on file."""


# A benefit case whose offer closed without being confirmed closes the same way (the offer's status →
# the case's); an offer withdrawn (a later screening no longer found the subject eligible, or could not
# tell) decides the case ``withdrawn`` — not a refusal.
OFFER_CLOSES_CASE = {"declined": "declined", "expired": "expired", "ended": "ended"}
PAYEE = "payee"  # the account a benefit case was confirmed with while its offer waited (in ``form``)
RESULTS = {"approved": "准予", "withdrawn": "已撤回（复核时未能确认仍符合条件，可向实施部门咨询）"}


class ProactiveService:
    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        approval: ApprovalService,
        verifier: Verifier,
        notifications: Notifications,
        audit: AuditLog,
        today: Callable[[], dt.date],
        channels: Sequence[str] = ("inbox",),
        licences: LicenceService | None = None,
        offers: OfferService | None = None,
    ) -> None:
        self.database = database
        self.licences = licences
        self.offers = offers  # a benefit policy's case ends with its offer confirmed (免申即享)
        if offers is not None:  # however the offer is confirmed (here or under /offers), its case is decided
            offers.on_confirmed = self._offer_confirmed
        self.catalog = catalog
        self.approval = approval
        self.verifier = verifier
        self.notifications = notifications
        self.audit = audit
        self.today = today
        self.channels = tuple(channels)

    # ---- the subject's side ---------------------------------------------------------------------

    def cases_of(self, principal: Principal, *, limit: int = 200) -> list[ProactiveCase]:
        who = _subject(principal)
        with self.database.session() as session:
            found = list(
                session.scalars(
                    select(ProactiveCase)
                    .where(or_(ProactiveCase.subject == who, ProactiveCase.contact == who))
                    .order_by(ProactiveCase.detected_at.desc())
                    .limit(limit)
                )
            )
        for case in found:
            if case.status == "confirmed" and case.case_no is not None:
                self.follow_decision(case.id)
        return found if not any(c.status == "confirmed" for c in found) else self._reload(found)

    def case(self, principal: Principal, case_id: str) -> ProactiveCase:
        """The case, if it is the principal's (the same answer whether absent or someone else's)."""
        with self.database.session() as session:
            return self._owned(session, principal, case_id)

    def steps(self, principal: Principal, case_id: str) -> list[ProactiveStep]:
        with self.database.session() as session:
            self._owned(session, principal, case_id)
            return list(
                session.scalars(
                    select(ProactiveStep).where(ProactiveStep.case_id == case_id).order_by(ProactiveStep.id)
                )
            )

    def view(self, principal: Principal, case_id: str) -> ProactiveCase:
        """Opening the pre-filled case: the first view is the subject's first interaction."""
        with self.database.session() as session:
            self._owned(session, principal, case_id)
            now = dt.datetime.now(dt.UTC)
            if self._move(
                session, case_id, ("notified",), principal, "viewed", now, viewed_at=now, count=True
            ):
                self._step(session, case_id, "viewed", principal.actor, now, "viewed")
        if self.case(principal, case_id).status == "confirmed":
            self.follow_decision(case_id)
        return self.case(principal, case_id)

    def verify(self, principal: Principal, case_id: str) -> tuple[ProactiveCase, str, bool]:
        """Real-name verification with a face check of the person who acts (实名核验 + 人脸识别)."""
        with self.database.session() as session:
            case = self._owned(session, principal, case_id)
            self._open(case)
            person = case.contact
        if person is None:
            raise ProactiveConflict("未能从登记信息确定办理人（法定代表人），请到窗口办理")
        verification = self.verifier.verify_person(person)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            if verification.passed:
                moved = self._move(
                    session,
                    case_id,
                    ("notified", "viewed"),
                    principal,
                    "verified",
                    now,
                    verified_at=now,
                    count=True,
                )
                if not moved:
                    self._refuse(session, case_id, "核验身份")
                self._step(session, case_id, "verified", principal.actor, now, "verified")
            else:
                # A failed check is an interaction too; the case stays where it was.
                self._count(session, case_id)
                self._step(session, case_id, "verify_failed", principal.actor, now, "failed")
        return self.case(principal, case_id), verification.reason, verification.passed

    def confirm(self, principal: Principal, case_id: str, payee: ConfirmIn | None = None) -> ProactiveCase:
        """One confirmation submits the pre-filled case to the 秒批 pipeline; for a benefit policy it
        accepts the offer, paid into ``payee`` (or the account on file from the subject's last
        confirmation of the policy)."""
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = self._owned(session, principal, case_id)
            if case.target_kind == "policy":
                # Not decided yet (a crash or a refusal after the confirmation), or still waiting for budget.
                retry = case.status == "confirmed" and case.decision in (None, "waiting")
            else:
                retry = case.status == "confirmed" and case.case_no is None
            if case.target_kind == "policy" and (retry or case.status == "verified"):
                payee = self._payee(case, payee)  # refuses before the case moves
            if not retry:
                if not self._move(
                    session, case_id, ("verified",), principal, "confirmed", now, confirmed_at=now, count=True
                ):
                    self._refuse(session, case_id, "确认", needs_verification=True)
                self._step(session, case_id, "confirmed", principal.actor, now, "confirmed")
            case = self._owned(session, principal, case_id)
        if case.target_kind == "item":
            self._submit(principal, case)
        else:
            assert payee is not None  # checked by _payee before the case moved
            self._policy_confirmed(principal, case, payee)
        return self.case(principal, case_id)

    def _payee(self, case: ProactiveCase, given: ConfirmIn | None) -> ConfirmIn:
        """The account to pay into: the one given now, else the one given when this case was confirmed
        while its offer waited, else the one on file from the subject's last confirmation."""
        if self.offers is None:
            raise ProactiveConflict("本平台未开通免申即享发放，请到窗口办理")
        if given is not None:
            return given
        kept = case.form.get(PAYEE)
        if isinstance(kept, dict):
            return ConfirmIn(**kept)
        found = self.offers.payee_on_file(case.target, case.subject)
        if found is None:
            raise PayeeRequired(
                f"确认享受“{case.target_name}”须提供收款账户：bank（开户银行）和 account（银行账号，8–30 位数字）"
            )
        return found

    def decline(self, principal: Principal, case_id: str, reason: str | None) -> ProactiveCase:
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            self._owned(session, principal, case_id)
            if not self._move(
                session,
                case_id,
                OPEN,
                principal,
                "declined",
                now,
                closed_at=now,
                decline_reason=reason,
                count=True,
            ):
                self._refuse(session, case_id, "放弃办理")
            self._step(session, case_id, "declined", principal.actor, now, "declined")
        return self.case(principal, case_id)

    # ---- decision and delivery ------------------------------------------------------------------

    def _submit(self, principal: Principal, case: ProactiveCase) -> None:
        item = self.catalog.items[case.target]
        application = ApplicationIn(
            item_code=item.code,
            applicant=ApplicantIn(
                id=case.subject, acting_person=case.contact if case.subject_kind == "enterprise" else None
            ),
            form=case.form,
            commitments=[m["name"] for m in case.materials if m.get("status") == "committed"],
            idempotency_key=f"proactive-{case.id}",
        )
        decision = self.approval.submit(principal, application)
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            session.execute(
                update(ProactiveCase)
                .where(ProactiveCase.id == case.id)
                .values(case_no=decision.case_no, decision=decision.status)
            )
            if decision.status != "review":
                self._decided(session, case.id, decision.status, now)
        if decision.status == "approved":
            self.deliver(case.id)

    def _policy_confirmed(self, principal: Principal, case: ProactiveCase, payee: ConfirmIn) -> None:
        """A benefit policy: the subject's offer for this period — the one a screening made, or one
        made now by the same rules, budget and order — confirmed into a benefit record. While the
        budget is used up the offer waits (decision ``waiting``): its subject is told when it is made,
        and confirms it then (here again, or under /offers)."""
        assert self.offers is not None  # _payee refused the confirmation otherwise
        now = dt.datetime.now(dt.UTC)
        try:
            offer = self.offers.offer_for(case.target, case.subject, reference=case.id)
        except NotEligible as error:
            if error.unknown:  # unknown facts are never refused automatically
                self._unconfirm(case.id, now, "unknown")
                raise ProactiveConflict(
                    f"{error}。办件未被拒绝，仍待您确认：数据补全后可再次确认，或向实施部门咨询"
                ) from None
            with self.database.session() as session:
                session.execute(  # not once ended or decided meanwhile (a death, a second click)
                    update(ProactiveCase)
                    .where(ProactiveCase.id == case.id, ProactiveCase.status == "confirmed")
                    .values(decision="rejected")
                )
                self._decided(session, case.id, "rejected", now)
            raise ProactiveConflict(str(error)) from None
        except OfferError as error:  # the platform's side (catalogue, version, calendar): try again later
            self._unconfirm(case.id, now, "offer_error")
            raise ProactiveConflict(
                f"暂时无法确认享受“{case.target_name}”：{error}。办件仍待您确认，请稍后再试或向实施部门咨询"
            ) from None
        waiting = offer.status == "waiting"
        with self.database.session() as session:
            session.execute(  # not once decided (a concurrent confirmation may have finished it)
                update(ProactiveCase)
                .where(ProactiveCase.id == case.id, ProactiveCase.status == "confirmed")
                .values(
                    benefit=offer.id,
                    decision="waiting" if waiting else None,
                    # Kept while the offer waits: confirming again later does not ask for it again.
                    **({"form": {**case.form, PAYEE: payee.model_dump()}} if waiting else {}),
                )
            )
        if waiting:
            return
        if self.offers.benefit_of(offer.id) is None:
            try:
                # Decides the case in the same transaction (_offer_confirmed).
                self.offers.confirm_for(case.subject, offer.id, payee, actor=principal.actor)
            except OfferConflict as error:
                if self.offers.benefit_of(offer.id) is None:  # not confirmed meanwhile (a second click)
                    closed = "，办件已关闭" if self._offer_closed(case.id, offer.id, now) else ""
                    raise ProactiveConflict(f"本期“{case.target_name}”{error}{closed}") from None
        with self.database.session() as session:  # confirmed before: under /offers, or a second click
            self._approve(session, case.id, now)

    def _offer_confirmed(self, session: Session, offer_id: str, subject: str, now: dt.datetime) -> None:
        """OfferService.on_confirmed: the benefit case waiting on this offer is decided (approved)."""
        for case_id in session.scalars(
            select(ProactiveCase.id).where(
                ProactiveCase.subject == subject,
                ProactiveCase.benefit == offer_id,
                ProactiveCase.status == "confirmed",
            )
        ):
            self._approve(session, case_id, now)

    def _approve(self, session: Session, case_id: str, now: dt.datetime) -> None:
        session.execute(
            update(ProactiveCase)
            .where(ProactiveCase.id == case_id, ProactiveCase.status == "confirmed")
            .values(decision="approved")
        )
        self._decided(session, case_id, "approved", now)

    def _offer_closed(
        self, case_id: str, offer_id: str, now: dt.datetime, today: dt.date | None = None
    ) -> bool:
        """The case's offer closed unconfirmed (declined, expired or past its deadline, ended,
        withdrawn): the case closes too, instead of refusing every confirmation after."""
        with self.database.session() as session:
            offer = session.get(Offer, offer_id)
            assert offer is not None
            status = offer.status
            if (
                status == "made"
                and offer.expires_on is not None
                and offer.expires_on < (today or self.today())
            ):
                status = "expired"
            if status == "withdrawn":
                session.execute(
                    update(ProactiveCase)
                    .where(ProactiveCase.id == case_id, ProactiveCase.status == "confirmed")
                    .values(decision="withdrawn")
                )
                return self._decided(session, case_id, "withdrawn", now)
            closed = OFFER_CLOSES_CASE.get(status)
            if closed is None or not self._transition(
                session, case_id, ("confirmed",), closed, closed_at=now
            ):
                return False
            self._step(session, case_id, closed, SYSTEM, now, f"offer_{status}")
            return True

    def _unconfirm(self, case_id: str, now: dt.datetime, outcome: str) -> None:
        """No offer could be made now, for a reason that is not a refusal: the case goes back to
        ``verified`` (open: reminded, expired in time) so the subject can confirm again later. A case
        already waiting on an offer stays as it is."""
        with self.database.session() as session:
            if self._transition(
                session,
                case_id,
                ("confirmed",),
                "verified",
                condition=ProactiveCase.benefit.is_(None),
                confirmed_at=None,
                decision=None,
            ):
                self._step(session, case_id, "unconfirmed", SYSTEM, now, outcome)

    def follow_decision(self, case_id: str) -> None:
        """A confirmed case that went to manual review follows its 秒批 case's final decision."""
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = session.get(ProactiveCase, case_id)
            if case is None or case.status != "confirmed" or case.case_no is None:
                return
            application = session.get(Application, case.case_no)
            if application is None or application.status not in ("approved", "rejected"):
                return
            session.execute(
                update(ProactiveCase).where(ProactiveCase.id == case_id).values(decision=application.status)
            )
            if not self._decided(session, case_id, application.status, now):
                return
            approved = application.status == "approved"
        if approved:
            self.deliver(case_id)

    def _decided(self, session: Session, case_id: str, decision: str, now: dt.datetime) -> bool:
        moved = self._transition(session, case_id, ("confirmed",), "decided", decided_at=now)
        if moved:
            self._step(session, case_id, "decided", SYSTEM, now, decision)
            case = session.get(ProactiveCase, case_id)
            assert case is not None
            self.notifications.enqueue(
                session,
                recipient=case.contact or case.subject,
                template="proactive.decided",
                variables={
                    "item": case.target_name,
                    "result": RESULTS.get(decision, "不予批准"),
                    "link": f"/api/v1/proactive/cases/{case_id}",
                },
                channels=self.channels,
                reference=case_id,
            )
        return moved

    def deliver(self, case_id: str) -> None:
        """The result reaches the subject: the successor licence the approval issued is recorded, the
        replaced one revoked (when Miaopi issued it; otherwise the licence library's record is marked
        superseded on the case), and the certificates exchanged by the free courier (old one
        collected, new one delivered)."""
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = session.get(ProactiveCase, case_id)
            if case is None or case.status != "decided" or case.decision != "approved":
                return
            successor = (
                session.scalars(
                    select(IssuedLicence.identifier).where(IssuedLicence.case_no == case.case_no)
                ).first()
                if case.case_no is not None
                else None
            )
            department = case.department
            replaced = dict(case.replaced_licence) if case.replaced_licence is not None else None
        if replaced is not None:
            replaced["revocation"] = self._revoke(
                department, replaced.get("licence_number"), successor, case_id
            )
        with self.database.session() as session:
            session.execute(
                update(ProactiveCase)
                .where(ProactiveCase.id == case_id)
                .values(successor_licence=successor, replaced_licence=replaced)
            )
            case = session.get(ProactiveCase, case_id)
            assert case is not None
            if case.replaced_licence is not None:
                session.add(
                    CourierRecord(
                        case_id=case_id,
                        old_licence=case.replaced_licence.get("licence_number"),
                        new_licence=case.successor_licence,
                        collect_status="scheduled",
                        deliver_status="scheduled",
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._step(session, case_id, "courier", SYSTEM, now, "scheduled")
            if self._transition(session, case_id, ("decided",), "delivered", delivered_at=now):
                self._step(session, case_id, "delivered", SYSTEM, now, "delivered")

    def _revoke(self, department: str, number: str | None, successor: str | None, case_id: str) -> str:
        """Revoke the replaced licence if Miaopi issued it (by the department that just approved its
        successor); a licence from another system's library is marked superseded on the case."""
        if self.licences is None or number is None:
            return "superseded"
        acting = Principal(0, "officer", f"system:{department}", "system", department=department)
        try:
            self.licences.change_status(
                acting, number, "revoke", f"已由新证 {successor or '（待签发）'} 替换（无感审批 {case_id}）"
            )
        except (LicenceIdentifierError, LookupError, LicenceConflict, PermissionError):
            return "superseded"
        return "revoked"

    def courier(self, principal: Principal, case_id: str, leg: str) -> CourierRecord:
        """The department records the courier's legs: the old certificate collected, the new one delivered."""
        if principal.kind != "officer" or principal.department is None:
            raise PermissionError("只有办理部门的工作人员可以登记快递")
        column = {"collected": "collect_status", "delivered": "deliver_status"}.get(leg)
        if column is None:
            raise ProactiveConflict("leg 应为 collected（旧证已回收）或 delivered（新证已送达）")
        now = dt.datetime.now(dt.UTC)
        with self.database.session() as session:
            case = session.get(ProactiveCase, case_id)
            record = session.scalars(select(CourierRecord).where(CourierRecord.case_id == case_id)).first()
            if case is None or case.department != principal.department or record is None:
                raise CaseNotFound(f"本部门没有需要快递的无感审批办件 {case_id}")
            if getattr(record, column) == leg:
                raise ProactiveConflict("该快递环节已登记")
            setattr(record, column, leg)
            record.updated_at = now
            self._step(session, case_id, "courier", principal.actor, now, leg)
            session.flush()
            return record

    # ---- the platform's sweep: reminders and expiry -----------------------------------------------

    def sweep(self, as_of: dt.date | None = None) -> tuple[int, int]:
        """Remind subjects who have not acted for a trigger's ``remind_every`` days, expire cases
        past their ``respond_within``, and close the benefit cases confirmed while their offer waited
        once that offer has lapsed unconfirmed (expired, declined, ended, withdrawn); returns
        (reminded, closed)."""
        today = as_of or self.today()
        now = dt.datetime.now(dt.UTC)
        reminded = expired = 0
        with self.database.session() as session:
            for case in session.scalars(select(ProactiveCase).where(ProactiveCase.status.in_(OPEN))):
                if case.expires_on < today:
                    if self._transition(session, case.id, OPEN, "expired", closed_at=now):
                        self._step(session, case.id, "expired", SYSTEM, now, "expired")
                        expired += 1
                    continue
                trigger = self.catalog.triggers.get(case.trigger_id)
                every = trigger.remind_every_days if trigger is not None else 7
                # Counted in the platform's days (``today``, China time), like ``expires_on``: the day the
                # case was pushed is its deadline minus the trigger's respond_within.
                if case.last_reminded_at is not None:
                    last = case.last_reminded_at.date()
                elif trigger is not None:
                    last = case.expires_on - dt.timedelta(days=trigger.respond_days)
                else:
                    last = case.detected_at.date()
                if (today - last).days < every:
                    continue
                session.execute(
                    update(ProactiveCase)
                    .where(ProactiveCase.id == case.id)
                    .values(
                        reminders=ProactiveCase.reminders + 1,
                        last_reminded_at=dt.datetime.combine(today, dt.time(), dt.UTC),
                    )
                )
                self.notifications.enqueue(
                    session,
                    recipient=case.contact or case.subject,
                    template="proactive.reminder",
                    variables={
                        "item": case.target_name,
                        "deadline": case.expires_on.isoformat(),
                        "link": f"/api/v1/proactive/cases/{case.id}",
                    },
                    channels=self.channels,
                    reference=case.id,
                )
                self._step(session, case.id, "reminded", SYSTEM, now, "reminded")
                reminded += 1
        with self.database.session() as session:  # only the cases whose offer lapsed: one query
            lapsed = session.execute(
                select(ProactiveCase.id, Offer.id)
                .join(Offer, Offer.id == ProactiveCase.benefit)
                .where(
                    ProactiveCase.status == "confirmed",
                    or_(
                        Offer.status.in_((*OFFER_CLOSES_CASE, "withdrawn")),
                        and_(Offer.status == "made", Offer.expires_on < today),
                    ),
                )
            ).all()
        for case_id, offer_id in lapsed:  # each closed in its own transaction, like a confirmation
            expired += self._offer_closed(case_id, offer_id, now, today)
        return reminded, expired

    # ---- helpers --------------------------------------------------------------------------------

    def _owned(self, session: Session, principal: Principal, case_id: str) -> ProactiveCase:
        who = _subject(principal)
        case = session.get(ProactiveCase, case_id)
        if case is None or who not in (case.subject, case.contact):
            raise CaseNotFound(f"没有找到无感审批办件 {case_id}")
        return case

    def _open(self, case: ProactiveCase) -> None:
        if case.status not in OPEN:
            raise ProactiveConflict(f"办件当前状态为“{STATUS_LABELS[case.status]}”，不能再核验身份")
        if case.expires_on < self.today():
            raise ProactiveConflict(f"办件已于 {case.expires_on} 逾期，请重新申请")

    def _move(
        self,
        session: Session,
        case_id: str,
        allowed: Sequence[str],
        principal: Principal,
        status: str,
        now: dt.datetime,
        *,
        count: bool,
        **values: Any,
    ) -> bool:
        extra: dict[str, Any] = dict(values)
        if count:
            extra["interactions"] = ProactiveCase.interactions + 1
        return self._transition(
            session, case_id, allowed, status, condition=ProactiveCase.expires_on >= self.today(), **extra
        )

    def _transition(
        self,
        session: Session,
        case_id: str,
        allowed: Sequence[str],
        status: str,
        condition: ColumnElement[bool] | None = None,
        **values: Any,
    ) -> bool:
        statement = update(ProactiveCase).where(
            ProactiveCase.id == case_id, ProactiveCase.status.in_(allowed)
        )
        if condition is not None:
            statement = statement.where(condition)
        result = cast(CursorResult[Any], session.execute(statement.values(status=status, **values)))
        return result.rowcount == 1

    def _count(self, session: Session, case_id: str) -> None:
        session.execute(
            update(ProactiveCase)
            .where(ProactiveCase.id == case_id)
            .values(interactions=ProactiveCase.interactions + 1)
        )

    def _step(
        self, session: Session, case_id: str, step: str, actor: str, now: dt.datetime, outcome: str
    ) -> None:
        session.add(ProactiveStep(case_id=case_id, step=step, label=STEP_LABELS[step], at=now, actor=actor))
        self.audit.append(
            session, actor=actor, action=f"proactive.{step}", target=case_id, outcome=outcome, at=now
        )

    def _refuse(
        self, session: Session, case_id: str, action: str, *, needs_verification: bool = False
    ) -> None:
        case = session.get(ProactiveCase, case_id)
        assert case is not None
        session.refresh(case)
        if case.status in OPEN and case.expires_on < self.today():
            raise ProactiveConflict(f"办件已于 {case.expires_on} 逾期，不能{action}")
        if needs_verification and case.status in ("notified", "viewed"):
            raise ProactiveConflict("请先完成身份核验（人脸识别）再确认")
        raise ProactiveConflict(f"办件当前状态为“{STATUS_LABELS[case.status]}”，不能{action}")

    def _reload(self, cases: list[ProactiveCase]) -> list[ProactiveCase]:
        with self.database.session() as session:
            fresh = {
                c.id: c
                for c in session.scalars(
                    select(ProactiveCase).where(ProactiveCase.id.in_([c.id for c in cases]))
                )
            }
        return [fresh[c.id] for c in cases]


def _subject(principal: Principal) -> str:
    if principal.kind != "applicant" or principal.subject_id is None:
        raise CaseNotFound("只有办理对象本人（或其法定代表人）可以查看无感审批办件")
    return principal.subject_id
