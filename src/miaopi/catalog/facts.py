"""Facts: the named values rules read.

A fact is one of
* a **binding** to a field of a shared resource (``person.birth_date`` ← ``population.person.birth_date``);
* an **aggregate** over a subject's records in a many-record resource (``COUNT``, ``SUM``, ``MAX`` …
  with a condition, e.g. penalty points in the last three scoring periods);
* a **derived** fact defined by an expression over other facts (``person.age``);
* a **form** field the applicant fills in (declared by the item, named ``form.<field>``);
* ``decision_date``, the date the case is decided on (built in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from miaopi.catalog.source import LocatedDict, Problems
from miaopi.rules import (
    Aggregate,
    Expression,
    ExpressionError,
    FactType,
    compile_aggregate,
    compile_expression,
)
from miaopi.sharing import Resource, ResourceCatalogue

DECISION_DATE = "decision_date"
# What the platform reads about licences a subject holds (for materials satisfied by a licence).
LICENCE_FIELDS = ("licence_type_name", "licence_number", "valid_from", "valid_to", "status")
SUBJECT_PREFIXES = ("person", "enterprise")
FIELD_TYPES = {
    "string": FactType.STRING,
    "integer": FactType.INTEGER,
    "number": FactType.NUMBER,
    "boolean": FactType.BOOLEAN,
    "date": FactType.DATE,
}


class FactKind(StrEnum):
    BINDING = "binding"
    AGGREGATE = "aggregate"
    DERIVED = "derived"
    FORM = "form"
    CONTEXT = "context"


@dataclass(frozen=True)
class Fact:
    name: str
    type: FactType
    label: str
    kind: FactKind
    resource: str | None = None
    field: str | None = None
    expression: Expression | None = None
    aggregate: Aggregate | None = None
    aggregate_spec: Mapping[str, Any] | None = None

    @property
    def subject_kind(self) -> str | None:
        prefix = self.name.split(".", 1)[0]
        return prefix if prefix in SUBJECT_PREFIXES else None


def context_facts() -> dict[str, Fact]:
    return {DECISION_DATE: Fact(DECISION_DATE, FactType.DATE, "决定日期", FactKind.CONTEXT)}


class FactRegistry:
    """All declared facts of a catalogue, compiled and checked against the resource catalogue."""

    def __init__(
        self,
        facts: Mapping[str, Fact],
        registries: Mapping[str, str],
        resources: ResourceCatalogue,
        credit_gate: Mapping[str, str] | None = None,
        licences: Mapping[str, str] | None = None,
    ) -> None:
        self.facts = dict(facts)
        self.registries = dict(registries)  # subject kind → its basic registry resource
        self.resources = resources
        # subject kind → the boolean fact that bars automatic approval (serious dishonesty, 严重失信)
        self.credit_gate = dict(credit_gate or {})
        # subject kind → the resource listing the licences a subject holds (materials satisfied by a licence)
        self.licences = dict(licences or {})

    def types(self, extra: Iterable[Fact] = ()) -> dict[str, FactType]:
        declared = {name: fact.type for name, fact in self.facts.items()}
        declared.update({fact.name: fact.type for fact in extra})
        return declared

    def closure(self, names: Iterable[str], extra: Mapping[str, Fact] | None = None) -> list[Fact]:
        """The facts ``names`` depend on, themselves included, dependencies first."""
        ordered: list[Fact] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            fact = (extra or {}).get(name) or self.facts[name]
            if fact.expression is not None:
                for dependency in fact.expression.facts_read:
                    visit(dependency)
            ordered.append(fact)

        for name in names:
            visit(name)
        return ordered

    def resource_requests(self, facts: Iterable[Fact]) -> dict[str, tuple[str, ...]]:
        """Which fields of which resources reading these facts needs (for grants and reads)."""
        requests: dict[str, dict[str, None]] = {}
        for fact in facts:
            if fact.kind is FactKind.BINDING and fact.resource and fact.field:
                requests.setdefault(fact.resource, {})[fact.field] = None
            elif fact.kind is FactKind.AGGREGATE and fact.resource and fact.aggregate is not None:
                fields = requests.setdefault(fact.resource, {})
                read = [name for name in fact.aggregate.facts_read if name != DECISION_DATE]
                # COUNT(*) reads no field, but still reads the subject's records: ask for the key.
                for name in read or [self.resources.resource(fact.resource).key]:
                    fields[name] = None
        return {resource: tuple(fields) for resource, fields in requests.items()}


def load_facts(
    path: Path, document: LocatedDict, resources: ResourceCatalogue, problems: Problems
) -> FactRegistry:
    """Declare the facts of ``facts.yaml``; every problem is added with its line."""
    registries: dict[str, str] = {}
    for kind, entry in (document.get("subjects") or {}).items():
        line = document["subjects"].line_of(kind)
        if kind not in SUBJECT_PREFIXES:
            problems.add(path, line, f"主体类型“{kind}”应为 person 或 enterprise")
            continue
        registry = entry.get("registry") if isinstance(entry, dict) else None
        if registry not in resources.resources:
            problems.add(path, line, f"主体“{kind}”的基础库“{registry}”不在信息资源目录中")
            continue
        registries[kind] = str(registry)
    facts: dict[str, Fact] = context_facts()
    pending: list[tuple[LocatedDict, str, FactType, str]] = []
    entries = document.get("facts") or []
    for entry in entries:
        if not isinstance(entry, LocatedDict):
            problems.add(path, getattr(entries, "line", 0), "facts 的每一项应为映射")
            continue
        name = entry.get("name")
        line = entry.line
        if not isinstance(name, str) or "." not in name or name.split(".", 1)[0] not in SUBJECT_PREFIXES:
            problems.add(path, line, f"事实名“{name}”应以 person. 或 enterprise. 开头")
            continue
        if name in facts:
            problems.add(path, line, f"事实“{name}”重复声明")
            continue
        type_name = entry.get("type")
        if type_name not in FIELD_TYPES:
            problems.add(
                path,
                entry.line_of("type"),
                f"事实“{name}”的类型“{type_name}”应为 {', '.join(FIELD_TYPES)} 之一",
            )
            continue
        fact_type = FIELD_TYPES[str(type_name)]
        label = str(entry.get("label") or name)
        kinds = [key for key in ("from", "expr", "aggregate") if key in entry]
        if len(kinds) != 1:
            problems.add(
                path, line, f"事实“{name}”需且只需给出 from（数据绑定）、aggregate（汇总）或 expr（派生）之一"
            )
            continue
        if kinds[0] == "from":
            fact = _binding(path, entry, name, fact_type, label, resources, problems)
            if fact is not None:
                facts[name] = fact
        elif kinds[0] == "aggregate":
            fact = _aggregate(path, entry, name, fact_type, label, resources, problems)
            if fact is not None:
                facts[name] = fact
        else:
            pending.append((entry, name, fact_type, label))
    # Derived facts declare their types, so all of them compile against the full set of names; a
    # cycle between them is then found by walking their dependencies.
    types = {fact_name: fact.type for fact_name, fact in facts.items()}
    types.update({name: fact_type for _entry, name, fact_type, _label in pending})
    for entry, name, fact_type, label in pending:
        try:
            expression = compile_expression(str(entry["expr"]), types, expect=fact_type)
        except ExpressionError as error:
            problems.add(path, entry.line_of("expr"), f"事实“{name}”的表达式有误：{error.message}")
            continue
        facts[name] = Fact(name, fact_type, label, FactKind.DERIVED, expression=expression)
    lines = {name: entry.line_of("expr") for entry, name, _type, _label in pending}
    for name in _cyclic(facts):
        problems.add(path, lines.get(name, 0), f"事实“{name}”的定义循环引用了自身")
        del facts[name]
    credit_gate: dict[str, str] = {}
    for kind, name in (document.get("credit_gate") or {}).items():
        line = document["credit_gate"].line_of(kind)
        fact = facts.get(str(name))
        if (
            kind not in SUBJECT_PREFIXES
            or fact is None
            or fact.type is not FactType.BOOLEAN
            or fact.subject_kind != kind
        ):
            problems.add(
                path, line, f"credit_gate 中“{kind}”应指向一个已声明的 {kind}.* 布尔事实，实际为“{name}”"
            )
            continue
        credit_gate[kind] = fact.name
    licences: dict[str, str] = {}
    for kind, code in (document.get("licences") or {}).items():
        line = document["licences"].line_of(kind)
        resource = resources.resources.get(str(code))
        if kind not in SUBJECT_PREFIXES or resource is None or resource.subject.value != kind:
            problems.add(path, line, f"licences 中“{kind}”应指向主体为 {kind} 的证照资源，实际为“{code}”")
            continue
        absent = [name for name in LICENCE_FIELDS if resource.field(name) is None]
        if absent:
            problems.add(path, line, f"证照资源“{code}”缺少字段：{', '.join(absent)}")
            continue
        licences[kind] = resource.code
    return FactRegistry(facts, registries, resources, credit_gate, licences)


def _cyclic(facts: Mapping[str, Fact]) -> list[str]:
    """Derived facts that depend on themselves, directly or through others."""
    cyclic: list[str] = []
    for name, fact in facts.items():
        if fact.expression is None:
            continue
        stack, seen = list(fact.expression.facts_read), set()
        while stack:
            current = stack.pop()
            if current == name:
                cyclic.append(name)
                break
            if current in seen or current not in facts:
                continue
            seen.add(current)
            expression = facts[current].expression
            if expression is not None:
                stack.extend(expression.facts_read)
    return cyclic


def _subject_resource(
    path: Path, line: int, name: str, code: str, resources: ResourceCatalogue, problems: Problems
) -> Resource | None:
    """The resource a fact reads, if it exists and is about the fact's kind of subject."""
    resource = resources.resources.get(code)
    if resource is None:
        problems.add(path, line, f"事实“{name}”引用的资源“{code}”不在信息资源目录中")
        return None
    kind = name.split(".", 1)[0]
    if kind != resource.subject.value:
        problems.add(
            path, line, f"事实“{name}”属于 {kind}，但资源“{resource.code}”的主体是 {resource.subject.value}"
        )
        return None
    return resource


def _binding(
    path: Path,
    entry: LocatedDict,
    name: str,
    fact_type: FactType,
    label: str,
    resources: ResourceCatalogue,
    problems: Problems,
) -> Fact | None:
    target = entry["from"]
    line = entry.line_of("from")
    if not isinstance(target, dict) or "resource" not in target or "field" not in target:
        problems.add(path, line, f"事实“{name}”的 from 应为 {{resource: 资源代码, field: 字段名}}")
        return None
    resource = _subject_resource(path, line, name, str(target["resource"]), resources, problems)
    if resource is None:
        return None
    field = resource.field(str(target["field"]))
    if field is None:
        problems.add(path, line, f"事实“{name}”绑定的字段“{target['field']}”不在资源“{resource.code}”中")
        return None
    if resource.many:
        problems.add(
            path, line, f"资源“{resource.code}”每个主体有多条记录：事实“{name}”应使用 aggregate 汇总"
        )
        return None
    if FIELD_TYPES[field.type] != fact_type and not (
        fact_type is FactType.NUMBER and field.type == "integer"
    ):
        problems.add(path, line, f"事实“{name}”声明为 {fact_type}，但字段“{field.name}”的类型是 {field.type}")
        return None
    return Fact(name, fact_type, label, FactKind.BINDING, resource=resource.code, field=field.name)


def _aggregate(
    path: Path,
    entry: LocatedDict,
    name: str,
    fact_type: FactType,
    label: str,
    resources: ResourceCatalogue,
    problems: Problems,
) -> Fact | None:
    spec = entry["aggregate"]
    line = entry.line_of("aggregate")
    if not isinstance(spec, dict) or "resource" not in spec or "function" not in spec:
        problems.add(path, line, f"事实“{name}”的 aggregate 应包含 resource、function（可选 value、where）")
        return None
    resource = _subject_resource(path, line, name, str(spec["resource"]), resources, problems)
    if resource is None:
        return None
    record_fields = {field.name: FIELD_TYPES[field.type] for field in resource.fields}
    try:
        aggregate = compile_aggregate(
            str(spec["function"]).upper(),
            record_fields,
            value=spec.get("value"),
            where=spec.get("where"),
            context={DECISION_DATE: FactType.DATE},
        )
    except ExpressionError as error:
        problems.add(path, line, f"事实“{name}”的汇总定义有误：{error.message}")
        return None
    if aggregate.result_type != fact_type and not (
        fact_type is FactType.NUMBER and aggregate.result_type is FactType.INTEGER
    ):
        problems.add(
            path, line, f"事实“{name}”声明为 {fact_type}，但汇总结果的类型是 {aggregate.result_type}"
        )
        return None
    return Fact(
        name,
        fact_type,
        label,
        FactKind.AGGREGATE,
        resource=resource.code,
        aggregate=aggregate,
        aggregate_spec=dict(spec),
    )
