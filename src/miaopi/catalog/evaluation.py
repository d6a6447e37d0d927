"""Evaluating one case: facts in, per-rule pass / fail / unknown with the facts each rule read, the
amount, and the outcome the machine may take on its own.

Three-valued logic throughout: a rule that reads a missing fact is *unknown*, and unknown never
approves or rejects — it sends the case to a person with the missing facts named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from miaopi.catalog.facts import DECISION_DATE, Fact, FactKind, FactRegistry
from miaopi.catalog.model import Item, OnFail, Policy, Rule, Version
from miaopi.sharing import SharingExchange, SubjectFacts


class RuleOutcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    REVIEW = "review"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    outcome: RuleOutcome
    facts: dict[str, Any]  # every fact the rule read, directly or through derived facts, with its value

    @property
    def message(self) -> str:
        if self.outcome is RuleOutcome.PASS:
            return self.rule.pass_message
        if self.outcome is RuleOutcome.FAIL:
            return self.rule.fail_message
        missing = [name for name, value in self.facts.items() if value is None]
        return f"无法判断：缺少数据（{'、'.join(missing) or '未知'}）"

    def explain(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "result": self.outcome.value,
            "message": self.message,
            "legal_basis": str(self.rule.legal_basis),
            "on_fail": self.rule.on_fail.value,
            "facts": {name: jsonable(value) for name, value in self.facts.items()},
        }


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


@dataclass(frozen=True)
class Evaluation:
    version: Version
    results: tuple[RuleResult, ...]
    amount: Any
    values: dict[str, Any]

    @property
    def failed(self) -> list[RuleResult]:
        return [result for result in self.results if result.outcome is RuleOutcome.FAIL]

    @property
    def unknown(self) -> list[RuleResult]:
        return [result for result in self.results if result.outcome is RuleOutcome.UNKNOWN]

    def missing_facts(self) -> list[str]:
        """Base facts that were missing and made some rule unknown."""
        names: dict[str, None] = {}
        for result in self.unknown:
            for name, value in result.facts.items():
                if value is None:
                    names[name] = None
        return list(names)

    def item_outcome(self, item: Item) -> Outcome:
        """What the machine may decide on its own for an item (before the credit gate)."""
        if any(result.rule.on_fail is OnFail.REJECT for result in self.failed) and item.auto_reject:
            return Outcome.REJECTED
        if self.failed or self.unknown or not item.auto_approve:
            return Outcome.REVIEW
        return Outcome.APPROVED

    def eligibility(self) -> Outcome:
        """For a policy: eligible only when every rule passes; any failure makes it ineligible."""
        if self.failed:
            return Outcome.INELIGIBLE
        if self.unknown:
            return Outcome.UNKNOWN
        return Outcome.ELIGIBLE

    def explain(self) -> list[dict[str, Any]]:
        return [result.explain() for result in self.results]


class Plan:
    """Everything needed to evaluate one version, worked out once: which facts to gather, which
    derived facts to compute in which order, and which base facts each rule depends on."""

    def __init__(
        self,
        version: Version,
        registry: FactRegistry,
        extra: Mapping[str, Fact] | None = None,
        also: Sequence[str] = (),
    ) -> None:
        """``also`` names facts to compute besides those the rules read (e.g. the credit gate)."""
        self.version = version
        extra = dict(extra or {})
        roots = [name for rule in version.rules for name in rule.expression.facts_read] + list(also)
        if version.amount is not None:
            roots += list(version.amount.facts_read)
        self.facts = registry.closure(dict.fromkeys(roots), extra)
        self.kind_names = {fact.name: fact.kind.value for fact in self.facts}
        self.derived = [fact for fact in self.facts if fact.kind is FactKind.DERIVED]
        self.inputs = [fact for fact in self.facts if fact.kind is not FactKind.DERIVED]
        self.requests = registry.resource_requests(self.facts)
        by_name = {fact.name: fact for fact in self.facts}
        self.rule_facts: list[tuple[Rule, tuple[str, ...]]] = []
        for rule in version.rules:
            names: dict[str, None] = {}
            for fact in registry.closure(rule.expression.facts_read, extra):
                names[fact.name] = None
            self.rule_facts.append((rule, tuple(name for name in names if name in by_name)))

    def evaluate(self, inputs: Mapping[str, Any]) -> Evaluation:
        values = dict(inputs)
        for fact in self.derived:
            assert fact.expression is not None
            values[fact.name] = fact.expression.evaluate(values)
        results = []
        for rule, names in self.rule_facts:
            verdict = rule.expression.evaluate(values)
            outcome = (
                RuleOutcome.UNKNOWN if verdict is None else RuleOutcome.PASS if verdict else RuleOutcome.FAIL
            )
            results.append(RuleResult(rule, outcome, {name: values.get(name) for name in names}))
        amount = self.version.amount.evaluate(values) if self.version.amount is not None else None
        return Evaluation(self.version, tuple(results), amount, values)

    def evaluate_subject(
        self,
        exchange: SharingExchange,
        owner: Item | Policy,
        subject: str,
        reference: str | None,
        on: dt.date,
    ) -> Evaluation:
        """Read what this plan needs about one subject under ``owner``'s grants (the reads logged
        under ``reference``) and evaluate it on ``on`` — for a policy or a pre-filled case: no form."""
        shared = exchange.read_subject(
            department=owner.department,
            purpose=owner.purpose,
            subject=subject,
            requests=self.requests,
            case_no=reference,
        )
        return self.evaluate(self.gather(shared, {}, on))

    def gather(
        self, shared: SubjectFacts | None, form: Mapping[str, Any], decision_date: dt.date
    ) -> dict[str, Any]:
        """Input values from what the sharing exchange returned, the form, and the decision date."""
        values: dict[str, Any] = {DECISION_DATE: decision_date}
        context = {DECISION_DATE: decision_date}
        for fact in self.inputs:
            if fact.kind is FactKind.BINDING:
                record = (
                    shared.one(fact.resource)
                    if shared is not None and fact.resource in shared.reads
                    else None
                )
                values[fact.name] = record.get(fact.field) if record is not None and fact.field else None
            elif fact.kind is FactKind.AGGREGATE:
                assert fact.aggregate is not None
                records: Sequence[Mapping[str, Any]] | None = (
                    shared.records(fact.resource)
                    if shared is not None and fact.resource in shared.reads
                    else None
                )
                values[fact.name] = fact.aggregate.evaluate(records, context)
            elif fact.kind is FactKind.FORM:
                values[fact.name] = form.get(fact.name.removeprefix("form."))
        return values
