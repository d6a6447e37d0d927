"""Loading a catalogue folder: ``facts.yaml``, ``grants.yaml``, ``items/*.yaml``, ``policies/*.yaml``.

Every static problem — YAML syntax, a missing field, an expression that does not compile, a rule
reading an undeclared fact, overlapping versions, a read not covered by a grant — is collected with
its file and line, and all of them are reported together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from miaopi.catalog.facts import (
    DECISION_DATE,
    FIELD_TYPES,
    LICENCE_FIELDS,
    Fact,
    FactKind,
    FactRegistry,
    load_facts,
)
from miaopi.catalog.licence_types import LicenceType, check_item_results, load_licence_types
from miaopi.catalog.model import (
    Case,
    DeemedApproval,
    FormField,
    Item,
    LegalBasis,
    Material,
    MaterialSource,
    OnFail,
    Policy,
    PriorityKey,
    Rule,
    TimeLimit,
    Trigger,
    Version,
)
from miaopi.catalog.source import CatalogError, LocatedDict, Problems, load_yaml
from miaopi.rules import ExpressionError, FactType, compile_expression
from miaopi.sharing import CatalogueError, GrantRegistry, ResourceCatalogue

T = TypeVar("T")
LIMIT_UNITS = ("工作日", "自然日", "即办")
CASE_TYPES = ("即办件", "承诺件")
PERIODS = ("year", "quarter", "month")
MAX_PRIORITY_KEYS = 8
TRUST_LEVELS = ("A", "B", "C", "D")


@dataclass
class Catalog:
    root: Path
    facts: FactRegistry
    grants: GrantRegistry
    items: dict[str, Item] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    licence_types: dict[str, LicenceType] = field(default_factory=dict)  # licence_types.yaml, by name
    triggers: dict[str, Trigger] = field(default_factory=dict)  # triggers/*.yaml (无感审批)

    @classmethod
    def load(cls, root: Path, resources: ResourceCatalogue) -> Catalog:
        """Load and check a catalogue folder; raises CatalogError listing every problem."""
        problems = Problems()
        catalog = _Loader(root, resources, problems).load()
        problems.raise_if_any()
        return catalog

    @classmethod
    def empty(cls, root: Path, resources: ResourceCatalogue) -> Catalog:
        """A deployment without items or policies yet."""
        return cls(root, FactRegistry({}, {}, resources), GrantRegistry(resources))

    def item(self, code: str) -> Item:
        return self.items[code]

    def form_facts(self, item: Item) -> dict[str, Fact]:
        return {form_field.fact.name: form_field.fact for form_field in item.form}

    def triggers_for(self, event_type: str) -> list[Trigger]:
        return [trigger for trigger in self.triggers.values() if event_type in trigger.events]

    def result_type(self, item: Item) -> LicenceType | None:
        """The licence type an approved case of ``item`` issues (None: no licence)."""
        return self.licence_types.get(item.result_licence_type) if item.result_licence_type else None

    def result_facts(self, item: Item) -> tuple[str, ...]:
        """The facts a case of ``item`` computes besides its rules', to fill in its licence."""
        licence_type = self.result_type(item)
        if licence_type is None:
            return ()
        known = self.form_facts(item).keys() | self.facts.facts.keys() | {DECISION_DATE}
        return tuple(name for name in licence_type.facts if name in known)  # the rest is reported at load


def canonical_hash(content: Any) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Loader:
    def __init__(self, root: Path, resources: ResourceCatalogue, problems: Problems) -> None:
        self.root = root
        self.resources = resources
        self.problems = problems

    def load(self) -> Catalog:
        if not self.root.is_dir():
            self.problems.add(self.root, 0, "事项目录文件夹不存在")
            self.problems.raise_if_any()
        facts_path = self.root / "facts.yaml"
        document = load_yaml(facts_path, self.problems)
        registry = (
            load_facts(facts_path, document, self.resources, self.problems)
            if document is not None
            else FactRegistry({}, {}, self.resources)
        )
        grants = GrantRegistry(self.resources)
        grants_path = self.root / "grants.yaml"
        if grants_path.exists():
            try:
                grants.load_file(grants_path)
            except CatalogueError as error:
                self.problems.add(grants_path, 0, str(error))
        catalog = Catalog(self.root, registry, grants)
        for path in sorted((self.root / "items").glob("*.yaml")):
            item = self._each(path, registry, self._item)
            if item is not None and self._unique(path, item.code, catalog.items, "事项编码"):
                catalog.items[item.code] = item
        for path in sorted((self.root / "policies").glob("*.yaml")):
            policy = self._each(path, registry, self._policy)
            if policy is not None and self._unique(path, policy.id, catalog.policies, "政策编号"):
                catalog.policies[policy.id] = policy
        types_path = self.root / "licence_types.yaml"
        if types_path.exists():
            catalog.licence_types = load_licence_types(
                types_path, registry, self.resources.departments, self.problems
            )
            check_item_results(catalog.items, catalog.licence_types, types_path, self.problems)
        self._triggers(catalog)
        self._check_grants(catalog)
        from miaopi.catalog.triggers import check_trigger_grants

        check_trigger_grants(catalog, self.problems)
        return catalog

    def _triggers(self, catalog: Catalog) -> None:
        from miaopi.catalog.triggers import load_trigger

        for path in sorted((self.root / "triggers").glob("*.yaml")):
            document = load_yaml(path, self.problems)
            trigger = load_trigger(self, path, document, catalog) if document is not None else None
            if trigger is None:
                continue
            if trigger.id in catalog.triggers:
                self.problems.add(path, 1, f"触发器“{trigger.id}”与 {catalog.triggers[trigger.id].file} 重复")
            else:
                catalog.triggers[trigger.id] = trigger

    # ---- shared pieces -------------------------------------------------------------------------

    def _each(
        self, path: Path, registry: FactRegistry, build: Callable[[Path, LocatedDict, FactRegistry], T | None]
    ) -> T | None:
        document = load_yaml(path, self.problems)
        return build(path, document, registry) if document is not None else None

    def _unique(self, path: Path, key: str, seen: Mapping[str, Item | Policy], what: str) -> bool:
        if key in seen:
            self.problems.add(path, 1, f"{what}“{key}”与 {seen[key].file} 重复")
            return False
        return True

    def _text(self, path: Path, entry: LocatedDict, key: str, *, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problems.add(path, entry.line, f"缺少字段“{key}”")
            return None
        return str(value)

    def _legal_basis(self, path: Path, raw: Any, line: int) -> LegalBasis | None:
        if isinstance(raw, dict) and raw.get("document"):
            article = raw.get("article")
            return LegalBasis(str(raw["document"]), str(article) if article is not None else None)
        self.problems.add(path, line, "法律依据应为 {document: 文件名, article: 条款}")
        return None

    def _date(self, path: Path, entry: LocatedDict, key: str, *, required: bool = True) -> dt.date | None:
        value = entry.get(key)
        if value is None:
            if required:
                self.problems.add(path, entry.line, f"缺少日期字段“{key}”")
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.problems.add(path, entry.line_of(key), f"“{key}”应为日期 YYYY-MM-DD，实际为“{value}”")
            return None

    def _versions(
        self,
        path: Path,
        entry: LocatedDict,
        types: Mapping[str, FactType],
        header: Mapping[str, Any],
    ) -> tuple[Version, ...]:
        raw_versions = entry.get("versions")
        if not isinstance(raw_versions, list) or not raw_versions:
            self.problems.add(path, entry.line, "缺少 versions（至少一个版本，含生效日期和规则）")
            return ()
        versions: list[Version] = []
        for raw in raw_versions:
            if not isinstance(raw, LocatedDict):
                self.problems.add(path, entry.line_of("versions"), "versions 的每一项应为映射")
                continue
            start = self._date(path, raw, "effective_from")
            end = self._date(path, raw, "effective_to", required=False)
            if start is None:
                continue
            if end is not None and end < start:
                self.problems.add(path, raw.line_of("effective_to"), f"失效日期 {end} 早于生效日期 {start}")
            rules = self._rules(path, raw, types)
            amount_expression = None
            if raw.get("amount") is not None:
                try:
                    amount_expression = compile_expression(str(raw["amount"]), types)
                except ExpressionError as error:
                    self.problems.add(path, raw.line_of("amount"), f"金额表达式有误：{error.message}")
                else:
                    if amount_expression.result_type not in (FactType.INTEGER, FactType.NUMBER):
                        self.problems.add(path, raw.line_of("amount"), "金额表达式的结果应为数值")
            content = {
                "header": header,
                "effective_from": start,
                "effective_to": end,
                "rules": raw.get("rules"),
                "amount": raw.get("amount"),
            }
            versions.append(
                Version(start, end, tuple(rules), canonical_hash(content), amount_expression, line=raw.line)
            )
        ordered = sorted(versions, key=lambda version: version.effective_from)
        for earlier, later in itertools.pairwise(ordered):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                self.problems.add(
                    path,
                    later.line,
                    f"版本 {later.effective_from} 与版本 {earlier.effective_from} 的生效期重叠",
                )
        return tuple(ordered)

    def _rules(self, path: Path, version: LocatedDict, types: Mapping[str, FactType]) -> list[Rule]:
        raw_rules = version.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            self.problems.add(path, version.line, "版本缺少 rules（至少一条规则）")
            return []
        rules: list[Rule] = []
        seen: set[str] = set()
        for raw in raw_rules:
            if not isinstance(raw, LocatedDict):
                self.problems.add(path, version.line_of("rules"), "rules 的每一项应为映射")
                continue
            rule_id = self._text(path, raw, "id")
            source = self._text(path, raw, "when")
            pass_message = self._text(path, raw, "pass")
            fail_message = self._text(path, raw, "fail")
            basis = self._legal_basis(path, raw.get("legal_basis"), raw.line_of("legal_basis"))
            on_fail_text = raw.get("on_fail", "review")
            if on_fail_text not in ("reject", "review"):
                self.problems.add(
                    path, raw.line_of("on_fail"), f"on_fail 应为 reject 或 review，实际为“{on_fail_text}”"
                )
                continue
            if rule_id in seen:
                self.problems.add(path, raw.line, f"规则编号“{rule_id}”重复")
            if rule_id is not None:
                seen.add(rule_id)
            if None in (rule_id, source, pass_message, fail_message, basis):
                continue
            try:
                expression = compile_expression(str(source), types, expect=FactType.BOOLEAN)
            except ExpressionError as error:
                self.problems.add(path, raw.line_of("when"), f"规则“{rule_id}”：{error.message}")
                continue
            assert rule_id and pass_message and fail_message and basis
            rules.append(
                Rule(
                    rule_id,
                    expression,
                    basis,
                    pass_message,
                    fail_message,
                    OnFail(on_fail_text),
                    line=raw.line,
                )
            )
        return rules

    def _cases(
        self, path: Path, entry: LocatedDict, types: Mapping[str, FactType], outcomes: tuple[str, ...]
    ) -> tuple[Case, ...]:
        cases: list[Case] = []
        for raw in entry.get("cases") or []:
            if not isinstance(raw, LocatedDict):
                self.problems.add(path, entry.line_of("cases"), "cases 的每一项应为映射")
                continue
            name = self._text(path, raw, "name") or "?"
            decision_date = self._date(path, raw, "date")
            facts = raw.get("facts") or LocatedDict()
            if not isinstance(facts, LocatedDict):
                self.problems.add(path, raw.line_of("facts"), f"用例“{name}”的 facts 应为映射（事实名: 值）")
                continue
            expect = raw.get("expect")
            if not isinstance(expect, LocatedDict) or expect.get("outcome") not in outcomes:
                self.problems.add(
                    path, raw.line, f"用例“{name}”的 expect.outcome 应为 {' / '.join(outcomes)} 之一"
                )
                continue
            for fact_name in facts:
                if fact_name not in types:
                    self.problems.add(
                        path, facts.line_of(fact_name), f"用例“{name}”给出了未声明的事实“{fact_name}”"
                    )
            if decision_date is None:
                continue
            amount = expect.get("amount")
            cases.append(
                Case(
                    name=name,
                    decision_date=decision_date,
                    facts={key: _coerce(value, types.get(key)) for key, value in facts.items()},
                    expect_outcome=str(expect["outcome"]),
                    expect_amount=float(amount) if amount is not None else None,
                    expect_unknown=tuple(expect.get("unknown") or ()),
                    expect_failed=tuple(expect.get("failed") or ()),
                    line=raw.line,
                )
            )
        if len(cases) < 3 and not any(problem.file == str(path) for problem in self.problems.items):
            self.problems.add(
                path, entry.line, f"至少需要3个用例（通过、不通过、缺少数据各一），现有{len(cases)}个"
            )
        return tuple(cases)

    def _subject(self, path: Path, entry: LocatedDict) -> str | None:
        subject = entry.get("subject")
        if subject not in ("person", "enterprise"):
            self.problems.add(
                path, entry.line_of("subject"), f"subject 应为 person 或 enterprise，实际为“{subject}”"
            )
            return None
        return str(subject)

    def _department(self, path: Path, entry: LocatedDict) -> str | None:
        department = self._text(path, entry, "department")
        if department is not None and department not in self.resources.departments:
            self.problems.add(path, entry.line_of("department"), f"部门“{department}”未在信息资源目录中登记")
            return None
        return department

    def _subject_types(
        self, registry: FactRegistry, subject: str, extra: Mapping[str, Fact]
    ) -> dict[str, FactType]:
        """The facts an item or policy about this kind of subject may read."""
        types = {
            name: fact.type for name, fact in registry.facts.items() if fact.subject_kind in (None, subject)
        }
        types.update({name: fact.type for name, fact in extra.items()})
        return types

    # ---- items ---------------------------------------------------------------------------------

    def _item(self, path: Path, entry: LocatedDict, registry: FactRegistry) -> Item | None:
        problems_before = len(self.problems.items)
        code = self._text(path, entry, "code")
        name = self._text(path, entry, "name")
        item_type = self._text(path, entry, "item_type")
        department = self._department(path, entry)
        subject = self._subject(path, entry)
        case_type = self._text(path, entry, "case_type")
        if case_type is not None and case_type not in CASE_TYPES:
            self.problems.add(
                path, entry.line_of("case_type"), f"case_type 应为 {' / '.join(CASE_TYPES)} 之一"
            )
        statutory = self._limit(path, entry, "statutory_limit")
        promised = self._limit(path, entry, "promised_limit")
        if statutory and promised and promised.unit == statutory.unit and promised.value > statutory.value:
            self.problems.add(path, entry.line_of("promised_limit"), "承诺时限不能长于法定时限")
        automation = entry.get("automation") or {}
        bases = [
            self._legal_basis(path, raw, entry.line_of("legal_basis"))
            for raw in entry.get("legal_basis") or []
        ]
        if not bases:
            self.problems.add(path, entry.line, "缺少 legal_basis（设定依据）")
        form = self._form(path, entry)
        materials = self._materials(path, entry)
        result = entry.get("result") or {}
        if (
            None in (code, name, item_type, department, subject, statutory, promised)
            or len(self.problems.items) > problems_before
        ):
            return None
        assert code and name and item_type and department and subject and statutory and promised and case_type
        extra = {form_field.fact.name: form_field.fact for form_field in form}
        types = self._subject_types(registry, subject, extra)
        header = {key: value for key, value in entry.items() if key not in ("versions", "cases")}
        versions = self._versions(path, entry, types, header)
        cases = self._cases(path, entry, types, ("approved", "rejected", "review"))
        return Item(
            versions=versions,
            code=code,
            name=name,
            item_type=item_type,
            department=department,
            subject=subject,
            legal_basis=tuple(basis for basis in bases if basis is not None),
            statutory_limit=statutory,
            promised_limit=promised,
            case_type=case_type,
            auto_approve=bool(automation.get("approve", True)),
            auto_reject=bool(automation.get("reject", False)),
            materials=materials,
            form=form,
            result_licence_type=result.get("licence_type"),
            result_name=result.get("name"),
            cases=cases,
            notes=entry.get("notes"),
            file=str(path),
            four_eyes=bool(entry.get("four_eyes", False)),
            deemed_approval=self._deemed_approval(path, entry, item_type, types, versions, registry, extra),
            reminder_days=self._reminder_days(path, entry),
        )

    def _deemed_approval(
        self,
        path: Path,
        entry: LocatedDict,
        item_type: str,
        types: Mapping[str, FactType],
        versions: tuple[Version, ...],
        registry: FactRegistry,
        extra: Mapping[str, Fact],
    ) -> DeemedApproval | None:
        """``deemed_approval: {expiry_fact: …}`` (行政许可法 §50): a date fact every version's rules read."""
        raw = entry.get("deemed_approval")
        if raw is None:
            return None
        line = entry.line_of("deemed_approval")
        expiry = raw.get("expiry_fact") if isinstance(raw, dict) else None
        if not isinstance(expiry, str) or not expiry:
            self.problems.add(path, line, "deemed_approval 应为 {expiry_fact: 原许可有效期届满日的事实}")
            return None
        if item_type != "行政许可":
            self.problems.add(path, line, "视为准予延续（行政许可法第五十条）只适用于行政许可事项")
        if types.get(expiry) != FactType.DATE:
            self.problems.add(
                path, line, f"deemed_approval.expiry_fact“{expiry}”应为本事项可读取的日期型事实"
            )
            return None
        for version in versions:
            read = {rule_fact for rule in version.rules for rule_fact in rule.expression.facts_read}
            if expiry not in {fact.name for fact in registry.closure(read, extra)}:
                self.problems.add(
                    path,
                    version.line or line,
                    f"deemed_approval.expiry_fact“{expiry}”须由每个版本的规则读取（办件才会保存其值）",
                )
        return DeemedApproval(expiry)

    def _reminder_days(self, path: Path, entry: LocatedDict) -> int | None:
        raw = entry.get("reminder_days")
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 60:
            self.problems.add(
                path, entry.line_of("reminder_days"), "reminder_days 应为 1–60 之间的整数（工作日）"
            )
            return None
        return raw

    def _limit(self, path: Path, entry: LocatedDict, key: str) -> TimeLimit | None:
        raw = entry.get(key)
        if (
            not isinstance(raw, dict)
            or raw.get("unit") not in LIMIT_UNITS
            or not isinstance(raw.get("value"), int)
        ):
            self.problems.add(
                path, entry.line_of(key), f"{key} 应为 {{value: 整数, unit: {' / '.join(LIMIT_UNITS)}}}"
            )
            return None
        return TimeLimit(int(raw["value"]), str(raw["unit"]))

    def _form(self, path: Path, entry: LocatedDict) -> tuple[FormField, ...]:
        fields: list[FormField] = []
        for raw in entry.get("form") or []:
            if not isinstance(raw, LocatedDict):
                self.problems.add(path, entry.line_of("form"), "form 的每一项应为映射")
                continue
            name = self._text(path, raw, "name")
            type_name = raw.get("type")
            if type_name not in FIELD_TYPES:
                self.problems.add(
                    path, raw.line_of("type"), f"表单字段“{name}”的类型应为 {', '.join(FIELD_TYPES)} 之一"
                )
                continue
            if name is None:
                continue
            choices = raw.get("choices")
            fact = Fact(
                f"form.{name}", FIELD_TYPES[str(type_name)], str(raw.get("label") or name), FactKind.FORM
            )
            fields.append(
                FormField(fact, bool(raw.get("required", True)), tuple(choices) if choices else None)
            )
        return tuple(fields)

    def _materials(self, path: Path, entry: LocatedDict) -> tuple[Material, ...]:
        materials: list[Material] = []
        for raw in entry.get("materials") or []:
            if not isinstance(raw, LocatedDict):
                self.problems.add(path, entry.line_of("materials"), "materials 的每一项应为映射")
                continue
            name = self._text(path, raw, "name")
            try:
                source = MaterialSource(raw.get("source", "applicant"))
            except ValueError:
                self.problems.add(
                    path, raw.line_of("source"), "材料来源 source 应为 applicant / issued / shared"
                )
                continue
            level = raw.get("min_trust_level")
            if level is not None and level not in TRUST_LEVELS:
                self.problems.add(path, raw.line_of("min_trust_level"), "可信等级应为 A / B / C / D")
                continue
            if name is not None:
                materials.append(
                    Material(name, bool(raw.get("required", True)), source, raw.get("licence_type"), level)
                )
        return tuple(materials)

    # ---- policies ------------------------------------------------------------------------------

    def _policy(self, path: Path, entry: LocatedDict, registry: FactRegistry) -> Policy | None:
        problems_before = len(self.problems.items)
        policy_id = self._text(path, entry, "id")
        name = self._text(path, entry, "name")
        department = self._department(path, entry)
        subject = self._subject(path, entry)
        period = entry.get("period", "year")
        if period not in PERIODS:
            self.problems.add(path, entry.line_of("period"), f"period 应为 {' / '.join(PERIODS)} 之一")
        bases = [
            self._legal_basis(path, raw, entry.line_of("legal_basis"))
            for raw in entry.get("legal_basis") or []
        ]
        if not bases:
            self.problems.add(path, entry.line, "缺少 legal_basis（政策依据）")
        if None in (policy_id, name, department, subject) or len(self.problems.items) > problems_before:
            return None
        assert policy_id and name and department and subject
        if subject not in registry.registries:
            self.problems.add(
                path, entry.line_of("subject"), f"facts.yaml 未声明主体“{subject}”的基础库（subjects）"
            )
            return None
        types = self._subject_types(registry, subject, {})
        screen = None
        if entry.get("screen") is not None:
            try:
                screen = compile_expression(str(entry["screen"]), types, expect=FactType.BOOLEAN)
            except ExpressionError as error:
                self.problems.add(path, entry.line_of("screen"), f"筛查范围表达式有误：{error.message}")
        header = {key: value for key, value in entry.items() if key not in ("versions", "cases")}
        versions = self._versions(path, entry, types, header)
        cases = self._cases(path, entry, types, ("eligible", "ineligible", "unknown"))
        budget = self._budget(path, entry)
        priority_order = self._priority_order(path, entry, types)
        confirm_within = self._limit(path, entry, "confirm_within") if "confirm_within" in entry else None
        if confirm_within is not None and confirm_within.unit == "即办":
            self.problems.add(
                path, entry.line_of("confirm_within"), "confirm_within 的单位应为 工作日 或 自然日"
            )
        return Policy(
            versions=versions,
            id=policy_id,
            name=name,
            department=department,
            subject=subject,
            legal_basis=tuple(basis for basis in bases if basis is not None),
            screen=screen,
            period=str(period),
            budget=budget,
            priority=entry.get("priority"),
            cases=cases,
            notes=entry.get("notes"),
            file=str(path),
            priority_order=priority_order,
            confirm_within=confirm_within,
        )

    def _budget(self, path: Path, entry: LocatedDict) -> float | None:
        """``budget``: yuan per period, a positive number with at most two decimals (fen)."""
        value = entry.get("budget")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.problems.add(
                path, entry.line_of("budget"), f"budget 应为正数（每个发放期的预算，元），实际为“{value}”"
            )
            return None
        if round(value, 2) != value:
            self.problems.add(
                path, entry.line_of("budget"), f"budget 最多精确到分（两位小数），实际为“{value}”"
            )
            return None
        return float(value)

    def _priority_order(
        self, path: Path, entry: LocatedDict, types: Mapping[str, FactType]
    ) -> tuple[PriorityKey, ...]:
        """``priority_order``: a list of ``{asc: expression}`` / ``{desc: expression}`` with numeric results."""
        raw = entry.get("priority_order")
        if raw is None:
            return ()
        line = entry.line_of("priority_order")
        if not isinstance(raw, list) or not raw or len(raw) > MAX_PRIORITY_KEYS:
            self.problems.add(
                path,
                line,
                f"priority_order 应为 1–{MAX_PRIORITY_KEYS} 项的列表，每项为 {{asc: 表达式}} 或 {{desc: 表达式}}",
            )
            return ()
        keys: list[PriorityKey] = []
        for number, key in enumerate(raw, 1):
            if not isinstance(key, dict) or len(key) != 1 or next(iter(key)) not in ("asc", "desc"):
                self.problems.add(
                    path, line, f"priority_order 第{number}项应为 {{asc: 表达式}} 或 {{desc: 表达式}}"
                )
                continue
            direction, source = next(iter(key.items()))
            try:
                expression = compile_expression(str(source), types)
            except ExpressionError as error:
                self.problems.add(path, line, f"priority_order 第{number}项表达式有误：{error.message}")
                continue
            if expression.result_type not in (FactType.INTEGER, FactType.NUMBER):
                self.problems.add(
                    path,
                    line,
                    f"priority_order 第{number}项的结果应为数值（布尔条件请写成 CASE WHEN … THEN 0 ELSE 1 END）",
                )
                continue
            keys.append(PriorityKey(expression, descending=direction == "desc"))
        return tuple(keys)

    # ---- grants --------------------------------------------------------------------------------

    def _check_grants(self, catalog: Catalog) -> None:
        """Every read an item or policy will make must be covered by a grant to its department."""
        from miaopi.catalog.evaluation import Plan

        subjects: list[tuple[str, str, str, list[Version], Mapping[str, Fact], Any]] = [
            (item.file, item.department, item.purpose, list(item.versions), catalog.form_facts(item), None)
            for item in catalog.items.values()
        ] + [
            (
                policy.file,
                policy.department,
                policy.purpose,
                list(policy.versions),
                {},
                [policy.screen, *(key.expression for key in policy.priority_order)],
            )
            for policy in catalog.policies.values()
        ]
        for file, department, purpose, versions, extra, expressions in subjects:
            needed: dict[str, dict[str, None]] = {}
            subject = (
                catalog.items[purpose.removeprefix("item:")].subject if purpose.startswith("item:") else None
            )
            also = [catalog.facts.credit_gate[subject]] if subject in catalog.facts.credit_gate else []
            if purpose.startswith("item:"):
                also += catalog.result_facts(catalog.items[purpose.removeprefix("item:")])
            for version in versions:
                for resource, fields in Plan(version, catalog.facts, extra, also).requests.items():
                    needed.setdefault(resource, {}).update(dict.fromkeys(fields))
            if subject is not None and subject in catalog.facts.licences:
                item = catalog.items[purpose.removeprefix("item:")]
                if any(material.source.value == "issued" for material in item.materials):
                    resource = catalog.facts.licences[subject]
                    needed.setdefault(resource, {}).update(dict.fromkeys(LICENCE_FIELDS))
            # A policy's screen and priority expressions read facts too.
            for expression in expressions or []:
                if expression is None:
                    continue
                facts = catalog.facts.closure(expression.facts_read)
                for resource, fields in catalog.facts.resource_requests(facts).items():
                    needed.setdefault(resource, {}).update(dict.fromkeys(fields))
            for resource, wanted in needed.items():
                granted = catalog.grants.granted_fields(department, purpose, resource)
                missing = [name for name in wanted if name not in granted]
                if missing:
                    self.problems.add(
                        file,
                        1,
                        f"缺少共享授权：部门“{department}”为“{purpose}”读取资源“{resource}”的字段 {', '.join(missing)}"
                        f"（请在 grants.yaml 中添加）",
                    )


def _coerce(value: Any, fact_type: FactType | None) -> Any:
    """YAML gives ints for whole numbers and dates for ISO dates; make case inputs match the fact type."""
    if value is None or fact_type is None:
        return value
    if fact_type is FactType.NUMBER and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if fact_type is FactType.DATE and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


__all__ = ["DECISION_DATE", "Catalog", "CatalogError", "canonical_hash"]
