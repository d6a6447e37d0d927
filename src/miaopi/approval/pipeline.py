"""The 秒批 decision pipeline, synchronous, for one application:

resolve the item version in force → gather facts through the sharing exchange under the item's
grants, with evidence → check materials (a licence already held satisfies a material) → evaluate the
rules → credit gate (a subject on the serious-dishonesty list is never approved automatically) →
outcome → store everything in one transaction (case with its facts and per-rule results, evidence,
progress steps, access log, audit entry) → answer with the case number, outcome and explanation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from miaopi.approval.intake import ApplicationIn, IntakeError, validate_form
from miaopi.approval.materials import check_materials
from miaopi.approval.models import Application, CaseStep
from miaopi.approval.uploads import store_uploads, upload_row
from miaopi.approval.writer import CaseRows, CaseWriter, Issuing
from miaopi.audit import AuditLog, AuditRecord
from miaopi.auth import Principal, Verifier
from miaopi.catalog import Catalog, Evaluation, Item, Outcome, Plan, TimeLimit, Version
from miaopi.catalog.facts import LICENCE_FIELDS, FactKind
from miaopi.identity import SubjectKind, parse_subject_id
from miaopi.licence.evidence import OwnLicences, evidence_uses
from miaopi.licence.issuing import request_for
from miaopi.sharing import SharingExchange, SubjectFacts
from miaopi.sharing.access_log import write_records
from miaopi.store import Database

CHINA = ZoneInfo("Asia/Shanghai")
CONTEXT_KIND = FactKind.CONTEXT.value

REASON_LABELS = {
    "unknown_fact": "缺少数据，无法自动判断",
    "failed_review_rule": "未满足需人工核实的条件",
    "failed_reject_rule": "未满足办理条件（本事项不由系统自动不予许可）",
    "credit_gate": "申请人在严重失信主体名单上（或信用状况无法确认），不能自动审批",
    "applicant_request": "申请人要求人工审核",
    "materials_missing": "缺少必要材料",
    "materials_trust": "材料可信等级不足，需核验原件",
    "manual_item": "本事项须人工审批",
}
STEP_LABELS = {
    "submitted": "提交申请",
    "accepted": "受理",
    "decided": "作出决定",
    "review": "转人工审核",
    "review_requested": "申请人要求人工审核",
}
STATUS_LABELS = {
    "approved": "准予许可（自动）",
    "rejected": "不予许可（自动）",
    "review": "人工审核中",
    "correction": "待申请人补正",
}


class ApprovalConflict(ValueError):
    """The idempotency key was used before with a different application."""


class NotAllowed(PermissionError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def new_case_no(today: dt.date, at: dt.datetime) -> str:
    """``MP`` + the decision day + the second of that day (China time) and its millisecond + 40
    random bits, e.g. ``MP202611234123409A1B2C3D4E5``. Unguessable (the public progress page takes
    it without a login), and in the order cases arrive, so the group commit appends to the
    case-number indexes instead of touching a random page of each for every case. (With the second
    alone, the thousand cases of one second fell at random among that second's index pages: a
    commit of ten cases wrote 18 pages of the evidence's case-number index.)"""
    local = at.astimezone(CHINA)
    second = local.hour * 3600 + local.minute * 60 + local.second
    return f"MP{today:%Y%m%d}{second:05d}{local.microsecond // 1000:03d}{secrets.token_hex(5).upper()}"


@dataclass
class Decision:
    case_no: str
    status: str
    reasons: list[dict[str, Any]]
    explanation: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    materials_waived: int
    item_code: str
    item_name: str
    version_hash: str
    submitted_at: dt.datetime
    promised_deadline: dt.date | None
    statutory_deadline: dt.date | None
    decision_micros: int
    replayed: bool = False  # the same idempotency key and body returned the stored case
    licence: str | None = None  # the identifier of the licence the approval issued (电子证照)
    timings: dict[str, int] = field(default_factory=dict)


Deadline = Callable[[dt.date, TimeLimit], dt.date | None]


class ApprovalService:
    def __init__(
        self,
        database: Database,
        catalog: Catalog,
        exchange: SharingExchange,
        verifier: Verifier,
        deadline: Deadline,
        audit: AuditLog | None = None,
        today: Callable[[], dt.date] = china_today,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.exchange = exchange
        self.verifier = verifier
        self.deadline = deadline
        self.audit = audit or AuditLog()
        self.writer = CaseWriter(database, self.audit)
        # Parquet sources answer from memory; only then may a decision run on the event loop itself.
        self._inline = all(resource.sql is None for resource in exchange.catalogue.resources.values())
        self.today = today
        self._plans: dict[tuple[str, str], Plan] = {}
        self.own_licences: OwnLicences | None = None

    def attach_licences(self, own: OwnLicences, issuer: Issuing) -> None:
        """Electronic licences: approvals issue their item's licence (in the writer's transaction),
        and materials may be satisfied by licences Miaopi issued."""
        self.own_licences = own
        self.writer.issuer = issuer

    # ---- the pipeline ---------------------------------------------------------------------------

    def submit(self, principal: Principal, application: ApplicationIn) -> Decision:
        """Decide and store one application (blocking)."""
        decision, rows = self.prepare(principal, application)
        try:
            self.writer.store(rows)
        except IntegrityError:
            return self._repeated(application)
        decision.licence = rows.licences[0].identifier if rows.licences else None
        return decision

    async def submit_async(self, principal: Principal, application: ApplicationIn) -> Decision:
        """Decide on the event loop (well under a millisecond) and wait for the group commit without
        holding a thread."""
        if self._inline and not self._wanted_own_licences(application.item_code):
            decision, rows = self.prepare(principal, application)
        else:  # a department database or the case store is read: keep the event loop free
            decision, rows = await asyncio.to_thread(self.prepare, principal, application)
        try:
            await self.writer.store_async(rows)
        except IntegrityError:
            return await asyncio.to_thread(self._repeated, application)
        decision.licence = rows.licences[0].identifier if rows.licences else None
        return decision

    def recheck(self, principal: Principal, application: ApplicationIn, case_no: str) -> dict[str, Any]:
        """Re-run the automatic checks on a corrected application of an existing case (补正). Nothing
        is stored as a new case; the reads are logged under the original case number."""
        decision, rows = self.prepare(principal, application)
        with self.database.session() as session:  # committed before the correction that refers to them
            store_uploads(session, rows.uploads)
            write_records(session, [dataclasses.replace(record, case_no=case_no) for record in rows.access])
        return {
            "status": decision.status,
            "reasons": decision.reasons,
            "explanation": decision.explanation,
            "materials": decision.materials,
            "version_hash": decision.version_hash,
            "evidence": [
                {"resource": row["resource"], "source": row["source"], "content_hash": row["content_hash"]}
                for row in rows.evidence
            ],
        }

    def _repeated(self, application: ApplicationIn) -> Decision:
        # Another request with the same idempotency key was stored first: answer as it was answered.
        existing = self._existing(application)
        if existing is None:
            raise ApprovalConflict(f"幂等键“{application.idempotency_key}”的申请未能保存，请重试")
        return existing

    def prepare(self, principal: Principal, application: ApplicationIn) -> tuple[Decision, CaseRows]:
        """Everything up to storage: the decision, and the rows that record it."""
        started = time.perf_counter_ns()
        marks: dict[str, int] = {}
        self._authorise(principal, application)
        # A repeated idempotency key is found by the unique constraint when the case is stored (see
        # below), not by a query before every submission: repeats are rare, queries are not free.
        item = self.catalog.items.get(application.item_code)
        if item is None:
            raise IntakeError("item_code", f"事项目录中没有编码为“{application.item_code}”的事项")
        kind, _, _ = parse_subject_id(application.applicant.id)
        if kind.value != item.subject:
            who = "自然人" if item.subject == SubjectKind.PERSON else "法人或其他组织"
            raise IntakeError("applicant.id", f"事项“{item.name}”的申请人应为{who}")
        form = validate_form(item, application.form)
        today = self.today()
        version = item.version_on(today)
        if version is None:
            raise IntakeError("item_code", f"事项“{item.name}”在 {today} 没有生效的版本，暂不能申请")
        submitted_at = dt.datetime.now(dt.UTC)
        case_no = new_case_no(today, submitted_at)
        plan = self.plan_for(item, version)
        marks["resolve"] = time.perf_counter_ns()

        requests = dict(plan.requests)
        licences = self.catalog.facts.licences.get(item.subject)
        if licences is not None and any(material.source.value == "issued" for material in item.materials):
            # Merged, not set-default: the rules may read the licence resource already (without its number).
            requests[licences] = tuple(dict.fromkeys((*requests.get(licences, ()), *LICENCE_FIELDS)))
        shared = self.exchange.read_subject(
            department=item.department,
            purpose=item.purpose,
            subject=application.applicant.id,
            requests=requests,
            case_no=case_no,
        )
        marks["gather"] = time.perf_counter_ns()
        try:
            held = shared.records(licences) if licences is not None and licences in shared.reads else []
            held = self._own_licences(item, application.applicant.id, today) + held
            uploads: list[dict[str, Any]] = []
            materials = check_materials(
                item,
                application.materials,
                application.commitments,
                held,
                today,
                lambda digest, content: uploads.append(upload_row(digest, content, submitted_at)),
            )
            marks["materials"] = time.perf_counter_ns()
            evaluation = plan.evaluate(plan.gather(shared, form, today))
            marks["evaluate"] = time.perf_counter_ns()
        except BaseException:
            self.exchange.access_log.take(case_no)  # nothing was decided: the reads are not kept
            raise
        status, reasons = decide(
            item,
            evaluation,
            self.catalog.facts.credit_gate.get(item.subject),
            materials.missing,
            materials.below_trust,
            human_review=application.request_human_review,
        )
        promised = self.deadline(today, item.promised_limit)
        statutory = self.deadline(today, item.statutory_limit)
        decided_at = dt.datetime.now(dt.UTC)
        micros = (time.perf_counter_ns() - started) // 1000
        timings = _durations(started, marks)
        decision = Decision(
            case_no=case_no,
            status=status,
            reasons=reasons,
            explanation=evaluation.explain(),
            materials=materials.materials,
            materials_waived=materials.waived,
            item_code=item.code,
            item_name=item.name,
            version_hash=version.content_hash,
            submitted_at=submitted_at,
            promised_deadline=promised,
            statutory_deadline=statutory,
            decision_micros=int(micros),
            timings=timings,
        )
        rows = self._rows(
            principal, application, item, version, evaluation, shared, decision, form, today, decided_at
        )
        licence_type = self.catalog.result_type(item)
        if status == "approved" and licence_type is not None and self.writer.issuer is not None:
            rows.licences.append(
                request_for(
                    licence_type,
                    case_no=case_no,
                    holder=application.applicant.id,
                    values=evaluation.values,
                    decided_on=today,
                    actor="system",
                )
            )
        rows.licence_uses.extend(evidence_uses(case_no, materials.materials, decided_at))
        rows.uploads.extend(uploads)
        return decision, rows

    def _wanted_own_licences(self, item_code: str) -> list[str]:
        """The licence types Miaopi issues that may satisfy the item's materials (read from the store)."""
        item = self.catalog.items.get(item_code)
        if self.own_licences is None or item is None:
            return []
        return [
            material.licence_type
            for material in item.materials
            if material.source.value == "issued"
            and material.licence_type
            and material.licence_type in self.catalog.licence_types
        ]

    def _own_licences(self, item: Item, holder: str, today: dt.date) -> list[dict[str, Any]]:
        """Licences Miaopi issued that may satisfy the item's materials (read only when the item
        takes a licence type Miaopi issues)."""
        wanted = self._wanted_own_licences(item.code)
        return self.own_licences.held(holder, wanted, today) if wanted and self.own_licences else []

    def _authorise(self, principal: Principal, application: ApplicationIn) -> None:
        if principal.kind != "applicant" or principal.subject_id is None:
            raise NotAllowed("只有申请人账号可以提交申请")
        applicant = application.applicant.id
        acting = application.applicant.acting_person
        if principal.subject_id == applicant:
            if (
                acting is not None
                and parse_subject_id(applicant)[0] is SubjectKind.ENTERPRISE
                and not self.verifier.may_act_for(acting, applicant)
            ):
                raise IntakeError("applicant.acting_person", "经办人不是该单位登记的法定代表人")
            return
        if (
            acting is not None
            and principal.subject_id == acting
            and self.verifier.may_act_for(acting, applicant)
        ):
            return
        raise NotAllowed("您只能为本人或您担任法定代表人的单位提交申请")

    def _existing(self, application: ApplicationIn) -> Decision | None:
        with self.database.session() as session:
            stored = session.scalars(
                select(Application).where(
                    Application.applicant == application.applicant.id,
                    Application.idempotency_key == application.idempotency_key,
                )
            ).first()
            if stored is None:
                return None
            if stored.request_hash != application.request_hash():
                raise ApprovalConflict(
                    f"幂等键“{application.idempotency_key}”已用于另一份内容不同的申请（办件 {stored.case_no}）"
                )
            return decision_of(stored, replayed=True)

    def plan_for(self, item: Item, version: Version) -> Plan:
        key = (item.code, version.content_hash)
        plan = self._plans.get(key)
        if plan is None:
            gate = self.catalog.facts.credit_gate.get(item.subject)
            plan = Plan(
                version,
                self.catalog.facts,
                self.catalog.form_facts(item),
                also=([gate] if gate else []) + list(self.catalog.result_facts(item)),
            )
            self._plans[key] = plan
        return plan

    def _rows(
        self,
        principal: Principal,
        application: ApplicationIn,
        item: Item,
        version: Version,
        evaluation: Evaluation,
        shared: SubjectFacts,
        decision: Decision,
        form: dict[str, Any],
        today: dt.date,
        decided_at: dt.datetime,
    ) -> CaseRows:
        # Values go into JSON columns as they are: the store's JSON serialiser writes dates in ISO 8601.
        kinds = self.plan_for(item, version).kind_names
        facts = {
            name: {"kind": kinds.get(name, CONTEXT_KIND), "value": value}
            for name, value in evaluation.values.items()
        }
        case_no = decision.case_no
        application_row = {
            "case_no": case_no,
            "item_code": item.code,
            "item_name": item.name,
            "department": item.department,
            "version_hash": version.content_hash,
            "version_from": version.effective_from,
            "applicant": application.applicant.id,
            "applicant_kind": item.subject,
            "acting_person": application.applicant.acting_person,
            "submitted_by": principal.actor,
            "idempotency_key": application.idempotency_key,
            "request_hash": application.request_hash(),
            "status": decision.status,
            "automatic_status": decision.status,
            "machine_outcome": evaluation.item_outcome(item).value,
            "reasons": decision.reasons,
            "explanation": decision.explanation,
            "facts": facts,
            "form": form,
            "materials": decision.materials,
            "materials_waived": decision.materials_waived,
            "commitments": list(application.commitments),
            "human_review_requested": application.request_human_review,
            "review_requested_on_submission": application.request_human_review,
            "submitted_at": decision.submitted_at,
            "decision_date": today,
            "decided_at": decided_at if decision.status != "review" else None,
            "promised_deadline": decision.promised_deadline,
            "statutory_deadline": decision.statutory_deadline,
            "decision_micros": decision.decision_micros,
            "timings": decision.timings,
        }
        evidence = [
            {
                "case_no": case_no,
                "resource": read.resource,
                "provider": read.evidence.provider,
                "source": read.evidence.source,
                "read_at": read.evidence.read_at,
                "content_hash": read.evidence.content_hash,
                "rows": read.evidence.rows,
                "records": read.records,
            }
            for read in shared.reads.values()
        ]
        steps = [
            ("submitted", decision.submitted_at, principal.actor),
            ("accepted", decision.submitted_at, "system"),
        ]
        if application.request_human_review:
            steps.append(("review_requested", decided_at, principal.actor))
        steps.append(("decided" if decision.status != "review" else "review", decided_at, "system"))
        return CaseRows(
            case_no=case_no,
            application=application_row,
            evidence=evidence,
            steps=[
                {"case_no": case_no, "step": step, "label": STEP_LABELS[step], "at": at, "actor": actor}
                for step, at, actor in steps
            ],
            access=self.exchange.access_log.take(case_no),
            audit=AuditRecord(
                actor=principal.actor,
                action="application.decided",
                target=case_no,
                outcome=decision.status,
                details={
                    "item": item.code,
                    "version": version.content_hash,
                    "reasons": [r["code"] for r in decision.reasons],
                },
                at=decided_at,
            ),
        )

    # ---- after the decision ---------------------------------------------------------------------

    def request_human_review(self, principal: Principal, case_no: str) -> Decision:
        """PIPL Art. 24: the applicant may refuse a purely automated decision."""
        with self.database.session() as session:
            stored = self._owned(session, principal, case_no)
            if stored.status == "review":
                return decision_of(stored)
            now = dt.datetime.now(dt.UTC)
            previous = stored.status
            stored.status = "review"
            stored.human_review_requested = True
            stored.reasons = [*stored.reasons, _reason("applicant_request", previous=previous)]
            if self.own_licences is not None and previous == "approved":
                self.own_licences.reopened(session, case_no, principal.actor, now)
            session.add(
                CaseStep(
                    case_no=case_no,
                    step="review_requested",
                    label=STEP_LABELS["review_requested"],
                    at=now,
                    actor=principal.actor,
                )
            )
            self.audit.append(
                session,
                actor=principal.actor,
                action="application.human_review_requested",
                target=case_no,
                outcome="review",
                details={"previous": previous},
                at=now,
            )
            session.flush()
            return decision_of(stored)

    def case(self, principal: Principal, case_no: str) -> Decision:
        with self.database.session() as session:
            return decision_of(self._owned(session, principal, case_no))

    def _owned(self, session: Session, principal: Principal, case_no: str) -> Application:
        stored = session.get(Application, case_no)
        if stored is None or not may_see(principal, stored):
            # The same answer whether the case does not exist or belongs to someone else.
            raise LookupError(f"没有找到办件 {case_no}")
        return stored


def decide(
    item: Item,
    evaluation: Evaluation,
    credit_gate: str | None,
    missing: list[str],
    below_trust: list[str],
    *,
    human_review: bool,
) -> tuple[str, list[dict[str, Any]]]:
    """The case's outcome and, for review, every reason — from the rules, the credit gate, the
    materials and the applicant's own request. Unknown never approves or rejects."""
    reasons: list[dict[str, Any]] = []
    machine = evaluation.item_outcome(item)
    if evaluation.unknown:
        reasons.append(_reason("unknown_fact", facts=evaluation.missing_facts()))
    failed_review = [r.rule.id for r in evaluation.failed if r.rule.on_fail.value == "review"]
    failed_reject = [r.rule.id for r in evaluation.failed if r.rule.on_fail.value == "reject"]
    if failed_review:
        reasons.append(_reason("failed_review_rule", rules=failed_review))
    if failed_reject and machine is not Outcome.REJECTED:
        reasons.append(_reason("failed_reject_rule", rules=failed_reject))
    if credit_gate is not None and evaluation.values.get(credit_gate) is not False:
        reasons.append(_reason("credit_gate", fact=credit_gate, value=evaluation.values.get(credit_gate)))
    if missing:
        reasons.append(_reason("materials_missing", materials=missing))
    if below_trust:
        reasons.append(_reason("materials_trust", materials=below_trust))
    if not item.auto_approve:
        reasons.append(_reason("manual_item"))
    if human_review:
        reasons.append(_reason("applicant_request"))
    if machine is Outcome.REJECTED and not human_review:
        return "rejected", [_reason("failed_reject_rule", rules=failed_reject)]
    if reasons:
        return "review", reasons
    return "approved", []


def may_see(principal: Principal, case: Application) -> bool:
    if principal.kind == "applicant":
        return principal.subject_id in (case.applicant, case.acting_person)
    return principal.kind == "officer" and principal.department == case.department


def decision_of(stored: Application, *, replayed: bool = False) -> Decision:
    return Decision(
        case_no=stored.case_no,
        status=stored.status,
        reasons=list(stored.reasons),
        explanation=list(stored.explanation),
        materials=list(stored.materials),
        materials_waived=stored.materials_waived,
        item_code=stored.item_code,
        item_name=stored.item_name,
        version_hash=stored.version_hash,
        submitted_at=stored.submitted_at,
        promised_deadline=stored.promised_deadline,
        statutory_deadline=stored.statutory_deadline,
        decision_micros=stored.decision_micros,
        replayed=replayed,
        timings=dict(stored.timings),
    )


def _reason(code: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": REASON_LABELS[code], **details}


def _durations(started: int, marks: dict[str, int]) -> dict[str, int]:
    durations: dict[str, int] = {}
    previous = started
    for name, mark in marks.items():
        durations[name] = (mark - previous) // 1000
        previous = mark
    return durations


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
