"""Triggers (``triggers/*.yaml``, 无感审批): event type + a condition over facts → the item or policy
to prepare, with the item's form filled in from facts; or (``stops``, e.g. 身后一件事 on a death) the
policy whose offers and unpaid benefits end after a day computed from the facts and the event.

```yaml
id: construction-qualification-change
name: 企业名称或法定代表人变更后，主动办理建筑业企业资质证书变更
events: [enterprise.name_changed, enterprise.legal_rep_changed]   # see miaopi.events.types
when: enterprise.holds_construction_qualification                 # facts and event.<field>
prepare: {item: "370200-ZJ-0001"}                                 # or {policy: <id>}, or instead:
# stops: {policy: <id>, after: event.death_date}                  # end the policy's offers after that day
form: {confirmed: "TRUE"}                                         # every form field: an expression
replaces_licence: 建筑业企业资质证书                               # revoked when the successor is issued
respond_within: 30                                                # natural days, then the case expires
remind_every: 7                                                   # days between reminders
cases: [...]                                                      # expect: triggered | not_triggered | unknown
```
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from miaopi.catalog.evaluation import Evaluation, Plan, RuleOutcome
from miaopi.catalog.facts import DECISION_DATE, LICENCE_FIELDS, Fact, FactKind, FactRegistry
from miaopi.catalog.model import Item, LegalBasis, OnFail, Rule, Trigger, Version
from miaopi.catalog.source import LocatedDict, Problems
from miaopi.rules import Expression, ExpressionError, FactType, compile_expression

if TYPE_CHECKING:
    from miaopi.catalog.loader import Catalog, _Loader
    from miaopi.catalog.testing import CaseResult

TRIGGER_OUTCOMES = ("triggered", "not_triggered", "unknown")
EVENT_PREFIX = "event."


def event_fact_types(events: tuple[str, ...]) -> dict[str, FactType] | None:
    """The ``event.<field>`` names a condition over these event types may read: the fields they all
    carry with the same type. None when an event type is unknown."""
    from miaopi.events.types import EVENT_TYPES, event_facts

    common: dict[str, FactType] | None = None
    for code in events:
        event_type = EVENT_TYPES.get(code)
        if event_type is None:
            return None
        fields = event_facts(event_type)
        common = fields if common is None else {k: v for k, v in common.items() if fields.get(k) == v}
    return common or {}


def event_fact_objects(types: Mapping[str, FactType]) -> dict[str, Fact]:
    return {name: Fact(name, fact_type, name, FactKind.CONTEXT) for name, fact_type in types.items()}


@dataclass(frozen=True)
class TriggerResult:
    outcome: str  # triggered | not_triggered | unknown
    evaluation: Evaluation
    form: dict[str, Any]

    @property
    def missing(self) -> list[str]:
        return self.evaluation.missing_facts()


class TriggerPlan:
    """What evaluating one trigger needs: the facts to read, the condition, the form expressions."""

    def __init__(self, trigger: Trigger, registry: FactRegistry) -> None:
        self.trigger = trigger
        types = event_fact_types(trigger.events) or {}
        self.event_facts = event_fact_objects(types)
        rule = Rule(
            "condition",
            trigger.condition,
            LegalBasis(trigger.name),
            "满足触发条件",
            "不满足触发条件",
            OnFail.REVIEW,
        )
        version = Version(dt.date.min, None, (rule,), trigger.id)
        also = [name for _field, expression in trigger.form for name in expression.facts_read]
        self.plan = Plan(version, registry, self.event_facts, also)

    @property
    def requests(self) -> dict[str, tuple[str, ...]]:
        return self.plan.requests

    def evaluate(self, inputs: Mapping[str, Any]) -> TriggerResult:
        evaluation = self.plan.evaluate(inputs)
        outcome = evaluation.results[0].outcome
        label = {
            RuleOutcome.PASS: "triggered",
            RuleOutcome.FAIL: "not_triggered",
            RuleOutcome.UNKNOWN: "unknown",
        }[outcome]
        form = {name: expression.evaluate(evaluation.values) for name, expression in self.trigger.form}
        return TriggerResult(label, evaluation, form)

    def case_inputs(self, facts: Mapping[str, Any], decision_date: dt.date) -> dict[str, Any]:
        inputs = {fact.name: facts.get(fact.name) for fact in self.plan.inputs}
        inputs[DECISION_DATE] = decision_date
        return inputs


def trigger_reads(trigger: Trigger, catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Every field evaluating and pre-filling the trigger reads (for grants and for the read itself)."""
    requests = {code: tuple(fields) for code, fields in TriggerPlan(trigger, catalog.facts).requests.items()}
    item = catalog.items.get(trigger.target) if trigger.target_kind == "item" else None
    licences = catalog.facts.licences.get(trigger.subject)
    if item is not None and licences is not None and _needs_licences(item, trigger):
        requests[licences] = tuple(dict.fromkeys((*requests.get(licences, ()), *LICENCE_FIELDS)))
    return requests


def _needs_licences(item: Item, trigger: Trigger) -> bool:
    return trigger.replaces_licence is not None or any(m.source.value == "issued" for m in item.materials)


def load_trigger(loader: _Loader, path: Path, entry: LocatedDict, catalog: Catalog) -> Trigger | None:
    problems = loader.problems
    before = len(problems.items)
    trigger_id = loader._text(path, entry, "id")
    name = loader._text(path, entry, "name")
    raw_events = entry.get("events", entry.get("event"))
    events = (
        tuple(str(e) for e in raw_events)
        if isinstance(raw_events, list)
        else ((str(raw_events),) if raw_events else ())
    )
    if not events:
        problems.add(path, entry.line, "缺少 events（触发的事件类型）")
    types_of_event = event_fact_types(events) if events else {}
    if types_of_event is None:
        from miaopi.events.types import EVENT_TYPES

        unknown = [code for code in events if code not in EVENT_TYPES]
        problems.add(
            path,
            entry.line_of("events") or entry.line_of("event"),
            f"未知的事件类型：{', '.join(unknown)}（可用：{', '.join(EVENT_TYPES)}）",
        )
        return None
    from miaopi.events.types import EVENT_TYPES

    subjects = {EVENT_TYPES[code].subject for code in events}
    if len(subjects) > 1:
        problems.add(path, entry.line_of("events"), "同一触发器的事件类型须为同一类主体（自然人或法人）")
        return None
    prepare, stops = entry.get("prepare"), entry.get("stops")
    target_kind, target = None, None
    if stops is not None:
        if prepare is not None:
            problems.add(path, entry.line_of("stops"), "prepare 与 stops 只能写一个")
        elif isinstance(stops, dict) and set(stops) == {"policy", "after"}:
            target_kind, target = "stop", str(stops["policy"])
        else:
            problems.add(
                path, entry.line_of("stops"), "stops 应为 {policy: 政策编号, after: 最后享受日（日期表达式）}"
            )
    elif isinstance(prepare, dict) and len(prepare) == 1 and next(iter(prepare)) in ("item", "policy"):
        target_kind, target = next(iter(prepare.items()))
        target = str(target)
    else:
        problems.add(path, entry.line_of("prepare"), "prepare 应为 {item: 事项编码} 或 {policy: 政策编号}")
    owner: Any = None
    if target_kind == "item":
        owner = catalog.items.get(str(target))
    elif target_kind in ("policy", "stop"):
        owner = catalog.policies.get(str(target))
    if target_kind is not None and owner is None:
        kind = "policy" if target_kind == "stop" else target_kind
        problems.add(
            path,
            entry.line_of("stops" if target_kind == "stop" else "prepare"),
            f"事项目录中没有{kind} “{target}”",
        )
    subject = next(iter(subjects)) if subjects else None
    if owner is not None and subject is not None and owner.subject != subject:
        problems.add(
            path, entry.line_of("prepare"), f"事件主体（{subject}）与办理对象的主体（{owner.subject}）不同"
        )
    respond = _positive_int(loader, path, entry, "respond_within", 30)
    remind = _positive_int(loader, path, entry, "remind_every", 7)
    if trigger_id is None or name is None or owner is None or subject is None or len(problems.items) > before:
        return None
    extra = event_fact_objects(types_of_event)
    types = loader._subject_types(catalog.facts, subject, extra)
    condition: Expression | None = None
    source = loader._text(path, entry, "when")
    if source is not None:
        try:
            condition = compile_expression(source, types, expect=FactType.BOOLEAN)
        except ExpressionError as error:
            problems.add(path, entry.line_of("when"), f"触发条件有误：{error.message}")
    form = (
        _last_day(loader, path, entry, types)
        if target_kind == "stop"
        else _form(loader, path, entry, owner, types)
    )
    replaces = entry.get("replaces_licence")
    if replaces is not None and (not isinstance(owner, Item) or owner.result_licence_type != replaces):
        problems.add(
            path,
            entry.line_of("replaces_licence"),
            f"replaces_licence “{replaces}”应与事项结果证照类型一致（{getattr(owner, 'result_licence_type', None)}）",
        )
    cases = loader._cases(path, entry, types, TRIGGER_OUTCOMES)
    if condition is None or form is None or len(problems.items) > before:
        return None
    return Trigger(
        id=trigger_id,
        name=name,
        events=events,
        subject=subject,
        department=owner.department,
        condition=condition,
        target_kind=str(target_kind),
        target=str(target),
        form=form,
        replaces_licence=str(replaces) if replaces is not None else None,
        respond_days=respond,
        remind_every_days=remind,
        cases=cases,
        notes=entry.get("notes"),
        file=str(path),
    )


def _positive_int(loader: _Loader, path: Path, entry: LocatedDict, key: str, default: int) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 366:
        loader.problems.add(path, entry.line_of(key), f"{key} 应为 1–366 的整数（自然日）")
        return default
    return value


def _last_day(
    loader: _Loader, path: Path, entry: LocatedDict, types: Mapping[str, FactType]
) -> tuple[tuple[str, Expression], ...] | None:
    """A ``stops`` trigger's last day entitled (``after``), computed like a form field (as ``after``)."""
    stops = entry["stops"]
    line = stops.line_of("after") if isinstance(stops, LocatedDict) else entry.line_of("stops")
    try:
        return (("after", compile_expression(str(stops["after"]), types, expect=FactType.DATE)),)
    except ExpressionError as error:
        loader.problems.add(path, line, f"stops.after（最后享受日）表达式有误：{error.message}")
        return None


def _form(
    loader: _Loader, path: Path, entry: LocatedDict, owner: Any, types: Mapping[str, FactType]
) -> tuple[tuple[str, Expression], ...] | None:
    """Every form field of the item, computed from facts: the subject fills in nothing."""
    raw = entry.get("form") or {}
    if not isinstance(raw, dict):
        loader.problems.add(path, entry.line_of("form"), "form 应为映射（表单字段: 表达式）")
        return None
    fields = {f.fact.name.removeprefix("form."): f for f in owner.form} if isinstance(owner, Item) else {}
    result: list[tuple[str, Expression]] = []
    ok = True
    for name, source in raw.items():
        line = raw.line_of(name) if isinstance(raw, LocatedDict) else entry.line
        form_field = fields.get(str(name))
        if form_field is None:
            loader.problems.add(path, line, f"办理对象没有表单字段“{name}”")
            ok = False
            continue
        try:
            expression = compile_expression(str(source), types, expect=form_field.fact.type)
        except ExpressionError as error:
            loader.problems.add(path, line, f"表单字段“{name}”的预填表达式有误：{error.message}")
            ok = False
            continue
        result.append((str(name), expression))
    missing = [name for name, f in fields.items() if f.required and name not in raw]
    if missing:
        loader.problems.add(
            path, entry.line, f"表单字段 {', '.join(missing)} 没有预填表达式（无感办理须全部由共享数据预填）"
        )
        ok = False
    return tuple(result) if ok else None


def check_trigger_grants(catalog: Catalog, problems: Problems) -> None:
    """Every read a trigger makes (condition, pre-fill, held licences) must be granted to the target's
    department for the purpose ``trigger:<id>``."""
    for trigger in catalog.triggers.values():
        for resource, wanted in trigger_reads(trigger, catalog).items():
            granted = catalog.grants.granted_fields(trigger.department, trigger.purpose, resource)
            missing = [name for name in wanted if name not in granted]
            if missing:
                problems.add(
                    trigger.file,
                    1,
                    f"缺少共享授权：部门“{trigger.department}”为“{trigger.purpose}”读取资源“{resource}”的字段 "
                    f"{', '.join(missing)}（请在 grants.yaml 中添加）",
                )


def run_trigger_cases(catalog: Catalog) -> list[CaseResult]:
    """The cases beside each trigger (``miaopi catalog test``): facts and event fields in, expected
    ``triggered`` / ``not_triggered`` / ``unknown`` out."""
    from miaopi.catalog.testing import CaseResult

    results: list[CaseResult] = []
    for trigger in catalog.triggers.values():
        plan = TriggerPlan(trigger, catalog.facts)
        for case in trigger.cases:
            result = plan.evaluate(plan.case_inputs(case.facts, case.decision_date))
            problems: list[str] = []
            if result.outcome != case.expect_outcome:
                problems.append(f"结果应为 {case.expect_outcome}，实际为 {result.outcome}")
            absent = [name for name in case.expect_unknown if name not in result.missing]
            if absent:
                problems.append(
                    f"应因缺少 {', '.join(absent)} 而无法判断，实际缺少的是 {', '.join(result.missing) or '无'}"
                )
            results.append(CaseResult(trigger.file, trigger.id, case, tuple(problems)))
    return results
