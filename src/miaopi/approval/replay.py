"""Replay: re-decide a stored case from its stored evidence and the version that decided it, and
report "identical" or the exact differences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from miaopi.approval.models import Application, CaseEvidence
from miaopi.approval.pipeline import decide, jsonable
from miaopi.catalog import Catalog, Plan
from miaopi.sharing import Evidence, ResourceRead, SubjectFacts, content_hash


@dataclass
class ReplayResult:
    case_no: str
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def replay(session: Session, catalog: Catalog, case_no: str) -> ReplayResult:
    case = session.get(Application, case_no)
    if case is None:
        raise LookupError(f"没有找到办件 {case_no}")
    result = ReplayResult(case_no)
    item = catalog.items.get(case.item_code)
    version = next((v for v in item.versions if v.content_hash == case.version_hash), None) if item else None
    if item is None or version is None:
        result.differences.append(f"决定所用的事项版本 {case.version_hash} 已不在当前事项目录中，无法重放")
        return result
    shared = SubjectFacts(subject=case.applicant)
    for row in session.scalars(select(CaseEvidence).where(CaseEvidence.case_no == case_no)):
        records = [_typed_record(catalog, row.resource, record) for record in row.records]
        if content_hash(records) != row.content_hash:
            result.differences.append(f"资源 {row.resource} 的存证内容与其哈希不符（存证被修改）")
        evidence = Evidence(row.resource, row.provider, row.source, row.read_at, row.content_hash, row.rows)
        shared.reads[row.resource] = ResourceRead(row.resource, records, evidence)
    form_facts = catalog.form_facts(item)
    form = {
        name.removeprefix("form."): _typed_value(fact.type.value, case.form.get(name.removeprefix("form.")))
        for name, fact in form_facts.items()
    }
    gate = catalog.facts.credit_gate.get(item.subject)
    also = ([gate] if gate else []) + list(catalog.result_facts(item))  # as the pipeline computed them
    plan = Plan(version, catalog.facts, form_facts, also=also)
    evaluation = plan.evaluate(plan.gather(shared, form, case.decision_date))
    missing = [m["name"] for m in case.materials if m.get("status") == "missing"]
    below = [
        name for reason in case.reasons if reason["code"] == "materials_trust" for name in reason["materials"]
    ]
    status, reasons = decide(
        item, evaluation, gate, missing, below, human_review=case.review_requested_on_submission
    )
    if status != case.automatic_status:
        result.differences.append(f"结论：原为 {case.automatic_status}，重放为 {status}")
    stored_rules = {entry["rule"]: entry["result"] for entry in case.explanation}
    replayed_rules = {r.rule.id: r.outcome.value for r in evaluation.results}
    for rule_id in sorted(set(stored_rules) | set(replayed_rules)):
        if stored_rules.get(rule_id) != replayed_rules.get(rule_id):
            result.differences.append(
                f"规则 {rule_id}：原为 {stored_rules.get(rule_id)}，重放为 {replayed_rules.get(rule_id)}"
            )
    stored_facts = {name: entry["value"] for name, entry in case.facts.items()}
    replayed_facts = {name: jsonable(value) for name, value in evaluation.values.items()}
    for name in sorted(set(stored_facts) | set(replayed_facts)):
        if stored_facts.get(name) != replayed_facts.get(name):
            result.differences.append(
                f"事实 {name}：原为 {stored_facts.get(name)!r}，重放为 {replayed_facts.get(name)!r}"
            )
    if [r["code"] for r in reasons] != [r["code"] for r in _automatic_reasons(case)]:
        result.differences.append(
            f"转人工原因：原为 {[r['code'] for r in _automatic_reasons(case)]}，重放为 {[r['code'] for r in reasons]}"
        )
    return result


def _automatic_reasons(case: Application) -> list[dict[str, Any]]:
    """The reasons as the pipeline gave them (a later request for human review is appended after)."""
    return [
        reason
        for reason in case.reasons
        if not (reason["code"] == "applicant_request" and "previous" in reason)
    ]


def _typed_record(catalog: Catalog, resource: str, record: dict[str, Any]) -> dict[str, Any]:
    described = catalog.facts.resources.resources.get(resource)
    if described is None:
        return record
    types = {field.name: field.type for field in described.fields}
    return {name: _typed_value(types.get(name, "string"), value) for name, value in record.items()}


def _typed_value(field_type: str, value: Any) -> Any:
    if value is None:
        return None
    if field_type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if field_type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
