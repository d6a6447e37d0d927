"""Running the tests that live beside the rules (``miaopi catalog test``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from miaopi.catalog.evaluation import Evaluation, Plan
from miaopi.catalog.facts import DECISION_DATE
from miaopi.catalog.loader import Catalog
from miaopi.catalog.model import Case, Item, Policy


@dataclass(frozen=True)
class CaseResult:
    file: str
    owner: str  # item code or policy id
    case: Case
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_case(catalog: Catalog, owner: Item | Policy, case: Case) -> CaseResult:
    version = owner.version_on(case.decision_date)
    if version is None:
        return CaseResult(owner.file, _owner_id(owner), case, (f"{case.decision_date} 没有生效的版本",))
    extra = catalog.form_facts(owner) if isinstance(owner, Item) else {}
    plan = Plan(version, catalog.facts, extra)
    inputs = {fact.name: case.facts.get(fact.name) for fact in plan.inputs}
    inputs[DECISION_DATE] = case.decision_date
    evaluation = plan.evaluate(inputs)
    outcome = evaluation.item_outcome(owner) if isinstance(owner, Item) else evaluation.eligibility()
    problems: list[str] = []
    if outcome.value != case.expect_outcome:
        problems.append(f"结果应为 {case.expect_outcome}，实际为 {outcome.value}（{_summary(evaluation)}）")
    if case.expect_amount is not None:
        amount = evaluation.amount
        if amount is None or not math.isclose(float(amount), case.expect_amount, rel_tol=1e-9, abs_tol=0.005):
            problems.append(f"金额应为 {case.expect_amount:g}，实际为 {amount}")
    if case.expect_unknown:
        missing = evaluation.missing_facts()
        absent = [name for name in case.expect_unknown if name not in missing]
        if absent:
            problems.append(
                f"应因缺少 {', '.join(absent)} 而无法判断，实际缺少的是 {', '.join(missing) or '无'}"
            )
    if case.expect_failed:
        failed = {result.rule.id for result in evaluation.failed}
        absent = [rule_id for rule_id in case.expect_failed if rule_id not in failed]
        if absent:
            problems.append(
                f"规则 {', '.join(absent)} 应不通过，实际不通过的是 {', '.join(sorted(failed)) or '无'}"
            )
    return CaseResult(owner.file, _owner_id(owner), case, tuple(problems))


def _owner_id(owner: Item | Policy) -> str:
    return owner.code if isinstance(owner, Item) else owner.id


def _summary(evaluation: Evaluation) -> str:
    parts = [f"{result.rule.id}={result.outcome.value}" for result in evaluation.results]
    return ", ".join(parts)


def run_all(catalog: Catalog) -> list[CaseResult]:
    from miaopi.catalog.triggers import run_trigger_cases

    owners: list[Item | Policy] = [*catalog.items.values(), *catalog.policies.values()]
    return [run_case(catalog, owner, case) for owner in owners for case in owner.cases] + run_trigger_cases(
        catalog
    )
