"""From an event to proactive cases: evaluate every trigger on the event's type over the subject's
shared facts, and prepare each case that fires entirely from shared data — the form from the
trigger's expressions, the materials from shared resources and licences already held.

Evaluation reads but never writes (``evaluate``); ``store`` writes the cases, their first steps,
the notifications and the audit entries in the caller's transaction. A case's key (trigger,
subject, occasion) is unique, so a second event about the same occasion never opens a second case.

One platform rule needs no trigger file: a stored death (``person.died``) ends the deceased's
proactive cases not yet decided, in the same transaction (``_end_on_death``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, select, update

from miaopi.approval.materials import check_materials
from miaopi.approval.pipeline import jsonable
from miaopi.audit import AuditRecord
from miaopi.auth import VERIFY_DEPARTMENT, VERIFY_PURPOSE
from miaopi.catalog import Catalog, Plan, Policy
from miaopi.catalog.model import Trigger
from miaopi.catalog.triggers import TriggerPlan, trigger_reads
from miaopi.events.intake import ValidEvent
from miaopi.licence.models import IssuedLicence
from miaopi.proactive.models import UNFINISHED, ProactiveCase, ProactiveStep
from miaopi.sharing import SharingExchange, SubjectFacts
from miaopi.sharing.access_log import write_records
from miaopi.store.insert_new import insert_new

if TYPE_CHECKING:
    from miaopi.licence.service import LicenceService
    from miaopi.notifications import Notifications
    from miaopi.offers import OfferService

STEP_LABELS = {
    "detected": "系统根据事件发现办理需求",
    "notified": "已推送办理提醒",
    "reminded": "再次提醒",
    "viewed": "已查看预填办件",
    "verified": "已完成身份核验（人脸识别）",
    "verify_failed": "身份核验未通过",
    "confirmed": "已确认提交",
    "decided": "已作出决定",
    "delivered": "已送达",
    "declined": "办理对象放弃办理",
    "expired": "逾期未确认",
    "ended": "当事人已死亡，办件终止",
    "courier": "证书快递",
    "unconfirmed": "未能确认享受（数据不全或暂时无法办理），办件退回待确认",
}
SYSTEM = "system:proactive"
DIED = "person.died"
CASE_TABLE = cast(Table, ProactiveCase.__table__)
STEP_TABLE = cast(Table, ProactiveStep.__table__)


def new_case_id(today: dt.date) -> str:
    return f"WG-{today:%Y%m%d}-{secrets.token_hex(5).upper()}"


@dataclass
class Candidate:
    """One trigger evaluated on one event."""

    trigger: Trigger
    reference: str  # the case id if it fires; the reads are logged under it either way
    outcome: str  # triggered | not_triggered | unknown | not_eligible
    row: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    stops: tuple[str, dt.date] | None = None  # a ``stops`` trigger: (subject, last day entitled)

    def planned(self) -> dict[str, Any]:
        """The outcome as evaluated (storing may still find a case for the occasion already)."""
        entry: dict[str, Any] = {"trigger": self.trigger.id, "outcome": self.outcome}
        if self.missing:
            entry["missing"] = self.missing
        if self.row is not None:
            entry["case"] = self.reference
        else:
            entry["reads"] = self.reference
        return entry


def _no_upload(_digest: str, _content: bytes) -> None:
    raise AssertionError("a proactive case uploads nothing")


class Detector:
    def __init__(
        self,
        catalog: Catalog,
        exchange: SharingExchange,
        notifications: Notifications,
        today: Callable[[], dt.date],
        channels: Sequence[str] = ("inbox",),
        licences: LicenceService | None = None,
        offers: OfferService | None = None,
    ) -> None:
        self.catalog = catalog
        self.licences = licences  # licences Miaopi issued itself count as held too
        self.offers = offers  # ``stops`` triggers end a policy's offers and unpaid benefits
        self.exchange = exchange
        self.notifications = notifications
        self.today = today
        self.channels = tuple(channels)
        self._plans: dict[str, TriggerPlan] = {}
        self._issued: dict[str, list[dict[str, Any]]] = {}
        self._reads: dict[str, dict[str, tuple[str, ...]]] = {}

    def plan(self, trigger: Trigger) -> TriggerPlan:
        plan = self._plans.get(trigger.id)
        if plan is None:
            plan = self._plans[trigger.id] = TriggerPlan(trigger, self.catalog.facts)
            self._reads[trigger.id] = trigger_reads(trigger, self.catalog)
        return plan

    def warm_requests(self) -> dict[str, set[str]]:
        """What the triggers read, for the start-up index warm-up."""
        requests: dict[str, set[str]] = {}
        for trigger in self.catalog.triggers.values():
            self.plan(trigger)
            for resource, fields in self._reads[trigger.id].items():
                requests.setdefault(resource, set()).update(fields)
        return requests

    # ---- reading and evaluating (no writes) -----------------------------------------------------

    def prefetch(self, events: Sequence[ValidEvent]) -> None:
        """The licences Miaopi itself issued to this batch's subjects (they count as held, and may be
        the ones a successor replaces) — one query per batch instead of one per case."""
        self._issued = {}
        if self.licences is None:
            return
        subjects = {event.subject for event in events if self.catalog.triggers_for(event.type.code)}
        if not subjects:
            return
        today = self.today()
        with self.licences.database.session() as session:
            found = session.execute(
                select(
                    IssuedLicence.holder,
                    IssuedLicence.identifier,
                    IssuedLicence.type_name,
                    IssuedLicence.valid_from,
                    IssuedLicence.valid_until,
                ).where(
                    IssuedLicence.holder.in_(subjects),
                    IssuedLicence.status == "valid",
                    IssuedLicence.valid_from <= today,
                )
            ).all()
        for holder, identifier, type_name, valid_from, valid_until in found:
            if valid_until is None or today <= valid_until:
                self._issued.setdefault(holder, []).append(
                    # Shaped like the shared licence library's records (as LicenceService.held does).
                    {
                        "licence_type_name": type_name,
                        "licence_number": identifier,
                        "valid_from": valid_from,
                        "valid_to": valid_until,
                        "status": "有效",
                        "source": "miaopi",
                        "trust": "A",
                    }
                )

    def evaluate(self, event: ValidEvent) -> list[Candidate]:
        today = self.today()
        candidates = []
        for trigger in self.catalog.triggers_for(event.type.code):
            plan = self.plan(trigger)
            reference = new_case_id(today)
            shared = self.exchange.read_subject(
                department=trigger.department,
                purpose=trigger.purpose,
                subject=event.subject,
                requests=self._reads[trigger.id],
                case_no=reference,
            )
            inputs = plan.plan.gather(shared, {}, today)
            inputs.update(event.facts())
            result = plan.evaluate(inputs)
            candidate = Candidate(trigger, reference, result.outcome, missing=result.missing)
            if result.outcome == "triggered" and trigger.target_kind == "stop":
                last_day = result.form.get("after")
                if last_day is not None:
                    candidate.stops = (event.subject, last_day)
            elif result.outcome == "triggered":
                facts = {name: jsonable(value) for name, value in result.evaluation.values.items()}
                candidate.row = self._prepare(event, trigger, reference, shared, result.form, facts, today)
                if candidate.row is None:
                    candidate.outcome = "not_eligible"
            candidates.append(candidate)
        return candidates

    def _prepare(
        self,
        event: ValidEvent,
        trigger: Trigger,
        case_id: str,
        shared: SubjectFacts,
        form: dict[str, Any],
        facts: dict[str, Any],
        today: dt.date,
    ) -> dict[str, Any] | None:
        now = dt.datetime.now(dt.UTC)
        evidence = [
            {
                "resource": read.resource,
                "source": read.evidence.source,
                "content_hash": read.evidence.content_hash,
            }
            for read in shared.reads.values()
        ]
        row: dict[str, Any] = {
            "id": case_id,
            "case_key": f"{trigger.id}:{event.subject}:{event.occasion()}"[:300],
            "trigger_id": trigger.id,
            "target_kind": trigger.target_kind,
            "target": trigger.target,
            "department": trigger.department,
            "subject": event.subject,
            "subject_kind": trigger.subject,
            "contact": self._contact(event.subject, trigger.subject, case_id),
            "status": "notified",
            "form": jsonable(form),
            "form_fields": 0,
            "materials": [],
            "materials_waived": 0,
            "facts": facts,
            "evidence": evidence,
            "amount": None,
            "replaced_licence": None,
            "interactions": 0,
            "reminders": 0,
            "expires_on": today + dt.timedelta(days=trigger.respond_days),
            "detected_at": now,
            "notified_at": now,
        }
        if trigger.target_kind == "item":
            item = self.catalog.items[trigger.target]
            row["target_name"] = item.name
            row["form_fields"] = len(item.form)
            licences = self.catalog.facts.licences.get(item.subject)
            held = shared.records(licences) if licences is not None and licences in shared.reads else []
            wanted = {m.licence_type for m in item.materials if m.licence_type} | {trigger.replaces_licence}
            held = [
                *held,
                *(r for r in self._issued.get(event.subject, ()) if r["licence_type_name"] in wanted),
            ]
            # Materials the subject would have brought: fetched, satisfied by a licence held, or (for
            # one the applicant alone can hold) covered by the commitment given with the confirmation.
            applicant_materials = [
                m.name for m in item.materials if m.source.value == "applicant" and m.required
            ]
            checked = check_materials(item, [], applicant_materials, held, today, _no_upload)
            row["materials"] = checked.materials
            row["materials_waived"] = checked.waived
            if trigger.replaces_licence is not None:
                current = [
                    licence
                    for licence in held
                    if licence.get("licence_type_name") == trigger.replaces_licence
                    and licence.get("status") in (None, "有效")
                    and (licence.get("valid_to") is None or licence["valid_to"] >= today)
                ]
                if current:
                    latest = max(current, key=lambda licence: licence.get("valid_from") or dt.date.min)
                    row["replaced_licence"] = jsonable(
                        {key: latest.get(key) for key in ("licence_type_name", "licence_number", "valid_to")}
                    )
            return row
        policy = self.catalog.policies[trigger.target]
        row["target_name"] = policy.name
        verdict = self._policy_verdict(policy, event.subject, case_id, today)
        if verdict is None:
            return None
        row["amount"], row["facts"]["policy"] = verdict
        return row

    def _policy_verdict(
        self, policy: Policy, subject: str, case_id: str, today: dt.date
    ) -> tuple[float | None, list[dict[str, Any]]] | None:
        """The policy's own rules on the subject today: the case is prepared only when eligible."""
        version = policy.version_on(today)
        if version is None:
            return None
        evaluation = Plan(version, self.catalog.facts).evaluate_subject(
            self.exchange, policy, subject, case_id, today
        )
        if evaluation.eligibility().value != "eligible":
            return None
        amount = float(evaluation.amount) if evaluation.amount is not None else None
        return amount, evaluation.explain()

    def _contact(self, subject: str, kind: str, case_id: str) -> str | None:
        """Who acts and is verified: the person, or the enterprise's registered legal representative."""
        if kind == "person":
            return subject
        registry = self.catalog.facts.registries.get("enterprise")
        if registry is None:
            return None
        facts = self.exchange.read_subject(
            department=VERIFY_DEPARTMENT,
            purpose=VERIFY_PURPOSE,
            subject=subject,
            requests={registry: ("legal_rep_id",)},
            case_no=case_id,
        )
        record = facts.one(registry)
        representative = record.get("legal_rep_id") if record is not None else None
        return str(representative) if representative else None

    # ---- storing (in the caller's transaction) --------------------------------------------------

    def store(
        self,
        session: Any,
        batch: Sequence[tuple[int, ValidEvent, Sequence[Candidate]]],
        audit: list[AuditRecord],
    ) -> dict[int, list[dict[str, Any]]]:
        """For a batch of newly stored events (row id, event, candidates): write the cases that fired
        (unless their occasion already has one) in one statement, their first steps and
        notifications, and every read; returns each event's outcome per trigger. ``stops``
        triggers and deaths end what must end first, before anything here takes the audit log's
        lock."""
        if self.offers is not None:
            for _row_id, _event, candidates in batch:
                for candidate in candidates:
                    if candidate.stops is not None:
                        audit += self.offers.stop_after(
                            session,
                            candidate.trigger.target,
                            *candidate.stops,
                            actor=SYSTEM,
                            reason=candidate.trigger.purpose,
                        )
        died = self._end_on_death(
            session, [(row_id, event) for row_id, event, _c in batch if event.type.code == DIED], audit
        )
        # A case another event of this batch opens for someone whose death the batch also brings is not
        # opened (the death ended that subject's cases above; a new one would be pushed to the deceased).
        rows = [
            {**c.row, "event_row": row_id}
            for row_id, _event, candidates in batch
            for c in candidates
            if c.row and c.row["subject"] not in died
        ]
        inserted = {
            case_id for (case_id,) in insert_new(session, CASE_TABLE, rows, ["case_key"], [CASE_TABLE.c.id])
        }
        outcomes: dict[int, list[dict[str, Any]]] = {}
        opened: list[Candidate] = []
        for row_id, _event, candidates in batch:
            outcome = outcomes[row_id] = []
            for candidate in candidates:
                entry = candidate.planned()
                if candidate.row is not None and candidate.row["subject"] in died:
                    entry["outcome"] = "subject_died"
                    del entry["case"]
                elif candidate.row is not None and candidate.reference not in inserted:
                    entry["outcome"] = "duplicate_case"
                    del entry["case"]
                elif candidate.row is not None:
                    opened.append(candidate)
                outcome.append(entry)
        self._opened(session, opened, audit)
        references = {c.reference for _row_id, _event, candidates in batch for c in candidates}
        write_records(session, self.exchange.access_log.take_many(references))
        return outcomes

    def _end_on_death(
        self, session: Any, deaths: Sequence[tuple[int, ValidEvent]], audit: list[AuditRecord]
    ) -> set[str]:
        """A platform rule on every death registration, whatever the triggers: the deceased's
        proactive cases not yet decided end (``ended``) — no more reminders, no decision pushed, nothing
        delivered to them; the figures count them apart from declined ones. Each gets a step naming
        the event and an audit entry. Only a newly stored event gets here, and a case moves only from
        an unfinished state, so a redelivery, or the other department's report of the same death, ends
        nothing twice. A death dated after today is a data error: nothing ends (as the stops trigger).

        A case the subject confirmed into 秒批 that waits for a reviewer ends here too, but its
        application is not withdrawn — an application is the applicant's act, and what follows a
        death (终止审查 or a decision) is the reviewer's call: an audit entry on the application
        (``proactive.applicant_died``) says the applicant died and which event said so. Returns the
        subjects whose death was taken."""
        today = self.today()
        now = dt.datetime.now(dt.UTC)
        deceased: set[str] = set()
        for row_id, event in deaths:
            died = event.payload.get("death_date")
            if not isinstance(died, dt.date) or died > today:
                continue
            deceased.add(event.subject)
            ended = sorted(
                (case_id, case_no)
                for case_id, case_no in session.execute(
                    update(CASE_TABLE)
                    .where(CASE_TABLE.c.subject == event.subject, CASE_TABLE.c.status.in_(UNFINISHED))
                    .values(status="ended", closed_at=now)
                    .returning(CASE_TABLE.c.id, CASE_TABLE.c.case_no)
                )
            )
            if not ended:
                continue
            reference = f"{event.source}:{event.event_id}"
            details = {"reason": DIED, "event": reference, "death_date": died.isoformat()}
            # The step names the event that ended the case (its stored row when the sender's id is long).
            actor = f"event:{reference}" if len(reference) <= 74 else f"event:#{row_id}"
            session.execute(
                insert(STEP_TABLE),
                [
                    {
                        "case_id": case_id,
                        "step": "ended",
                        "label": STEP_LABELS["ended"],
                        "at": now,
                        "actor": actor,
                    }
                    for case_id, _case_no in ended
                ],
            )
            for case_id, case_no in ended:
                audit.append(AuditRecord(SYSTEM, "proactive.ended", case_id, "ended", details, now))
                if case_no is not None:
                    audit.append(
                        AuditRecord(
                            SYSTEM,
                            "proactive.applicant_died",
                            case_no,
                            "left_to_review",
                            {**details, "proactive_case": case_id},
                            now,
                        )
                    )
        return deceased

    def _opened(self, session: Any, opened: Sequence[Candidate], audit: list[AuditRecord]) -> None:
        if not opened:
            return
        session.execute(
            insert(STEP_TABLE),
            [
                {
                    "case_id": c.reference,
                    "step": step,
                    "label": STEP_LABELS[step],
                    "at": c.row["detected_at"],
                    "actor": SYSTEM,
                }
                for c in opened
                if c.row is not None
                for step in ("detected", "notified")
            ],
        )
        for candidate in opened:
            row = candidate.row
            assert row is not None
            self.notifications.enqueue(
                session,
                recipient=row["contact"] or row["subject"],
                template="proactive.prepared",
                variables={"item": row["target_name"], "link": f"/api/v1/proactive/cases/{row['id']}"},
                channels=self.channels,
                reference=row["id"],
            )
            audit.append(
                AuditRecord(
                    actor=SYSTEM,
                    action="proactive.detected",
                    target=row["id"],
                    outcome="notified",
                    details={"trigger": candidate.trigger.id, "target": row["target"]},
                    at=row["detected_at"],
                )
            )
