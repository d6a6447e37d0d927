"""Licence types (证照类型) of a catalogue: ``licence_types.yaml``.

Each type names the licence an approved case yields (an item's ``result.licence_type``): its type code
and issuing authority (both parts of the GB/T 36904 identifier), how long it is valid, and the fields
printed on it, each taken from a fact of the case (a shared-data fact or a form field).

    types:
      - name: 人力资源服务许可证
        code: "11100000MB0000000R001"           # type code: defining authority's code + 3 digits
        credential_type: HumanResourcesServiceLicence   # the VC type name (ASCII)
        subject: enterprise
        department: human_resources             # issuing department (its officers revoke)
        issuer: {name: 青岛市人力资源和社会保障局, code: "11370200MB0000000R"}
        validity: {years: 5}                    # or {months: n}, {until: <date fact>}, {permanent: true}
        holder_name: enterprise.name
        fields:
          - {label: 机构名称, fact: enterprise.name}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from miaopi.catalog.facts import DECISION_DATE, FactRegistry
from miaopi.catalog.model import Item
from miaopi.catalog.source import LocatedDict, Problems, load_yaml
from miaopi.rules import FactType

CODE = re.compile(r"[0-9A-Z]+")


@dataclass(frozen=True)
class LicenceField:
    label: str  # printed on the licence
    fact: str  # the case fact it is filled from


@dataclass(frozen=True)
class LicenceValidity:
    years: int = 0
    months: int = 0
    until_fact: str | None = None  # a date fact of the case: the licence is valid until that day
    permanent: bool = False

    def __str__(self) -> str:
        if self.permanent:
            return "长期"
        if self.until_fact:
            return f"至 {self.until_fact}"
        return f"{self.years}年" if self.years else f"{self.months}个月"


@dataclass(frozen=True)
class LicenceType:
    name: str
    code: str
    credential_type: str
    subject: str  # person | enterprise
    department: str
    issuer_name: str
    issuer_code: str
    validity: LicenceValidity
    holder_name: str  # the fact giving the holder's name
    fields: tuple[LicenceField, ...]
    file: str = ""
    line: int = 0

    @property
    def facts(self) -> tuple[str, ...]:
        """Every case fact the licence is filled from."""
        names = [self.holder_name, *(field.fact for field in self.fields)]
        if self.validity.until_fact:
            names.append(self.validity.until_fact)
        return tuple(dict.fromkeys(names))


def load_licence_types(
    path: Path, registry: FactRegistry, departments: Mapping[str, object], problems: Problems
) -> dict[str, LicenceType]:
    """Load and check ``licence_types.yaml``; every problem is added to ``problems``."""
    document = load_yaml(path, problems)
    if document is None:
        return {}
    raw_types = document.get("types")
    if not isinstance(raw_types, list) or not raw_types:
        problems.add(path, document.line, "licence_types.yaml 须有 types 列表（至少一种证照类型）")
        return {}
    types: dict[str, LicenceType] = {}
    codes: dict[str, str] = {}
    for raw in raw_types:
        if not isinstance(raw, LocatedDict):
            problems.add(path, document.line_of("types"), "types 的每一项应为映射")
            continue
        licence_type = _licence_type(path, raw, registry, departments, problems)
        if licence_type is None:
            continue
        if licence_type.name in types:
            problems.add(path, raw.line, f"证照类型名称“{licence_type.name}”重复")
            continue
        if licence_type.code in codes:
            problems.add(
                path,
                raw.line_of("code"),
                f"证照类型代码“{licence_type.code}”与“{codes[licence_type.code]}”重复",
            )
            continue
        types[licence_type.name] = licence_type
        codes[licence_type.code] = licence_type.name
    return types


def _text(path: Path, entry: LocatedDict, key: str, problems: Problems, where: str) -> str | None:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(path, entry.line, f"{where}缺少字段“{key}”")
        return None
    return str(value)


def _code(path: Path, entry: LocatedDict, key: str, problems: Problems, where: str) -> str | None:
    value = _text(path, entry, key, problems, where)
    if value is not None and not CODE.fullmatch(value):
        problems.add(
            path, entry.line_of(key), f"{where}“{key}”只能由数字 0–9 和大写字母 A–Z 组成，实际为“{value}”"
        )
        return None
    return value


def _fact(
    path: Path,
    line: int,
    name: object,
    subject: str,
    registry: FactRegistry,
    problems: Problems,
    where: str,
    expect: FactType | None = None,
) -> str | None:
    """A registry fact of the type's subject, or a form field (checked against each issuing item)."""
    if not isinstance(name, str) or not name:
        problems.add(path, line, f"{where}须给出事实名称")
        return None
    if name.startswith("form."):
        return name
    fact = registry.facts.get(name)
    if fact is None and name != DECISION_DATE:
        problems.add(path, line, f"{where}引用了未声明的事实“{name}”（见 facts.yaml）")
        return None
    if fact is not None and fact.subject_kind not in (None, subject):
        problems.add(path, line, f"{where}引用的事实“{name}”不属于主体 {subject}")
        return None
    fact_type = fact.type if fact is not None else FactType.DATE
    if expect is not None and fact_type is not expect:
        problems.add(
            path, line, f"{where}引用的事实“{name}”应为 {expect.value} 类型，实际为 {fact_type.value}"
        )
        return None
    return name


def _licence_type(
    path: Path,
    raw: LocatedDict,
    registry: FactRegistry,
    departments: Mapping[str, object],
    problems: Problems,
) -> LicenceType | None:
    before = len(problems.items)
    name = _text(path, raw, "name", problems, "证照类型")
    where = f"证照类型“{name or '?'}”"
    code = _code(path, raw, "code", problems, where)
    credential_type = _text(path, raw, "credential_type", problems, where)
    if credential_type is not None and not (credential_type.isascii() and credential_type.isidentifier()):
        problems.add(
            path,
            raw.line_of("credential_type"),
            f"{where}的 credential_type 须为 ASCII 标识符（如 BusinessLicence），实际为“{credential_type}”",
        )
    subject = raw.get("subject")
    if subject not in ("person", "enterprise"):
        problems.add(path, raw.line_of("subject"), f"{where}的 subject 应为 person 或 enterprise")
        subject = None
    department = _text(path, raw, "department", problems, where)
    if department is not None and department not in departments:
        problems.add(path, raw.line_of("department"), f"{where}的部门“{department}”未在信息资源目录中登记")
    issuer = raw.get("issuer")
    issuer_name = issuer_code = None
    if isinstance(issuer, LocatedDict):
        issuer_name = _text(path, issuer, "name", problems, f"{where}的签发机关")
        issuer_code = _code(path, issuer, "code", problems, f"{where}的签发机关")
    else:
        problems.add(path, raw.line_of("issuer"), f"{where}的 issuer 应为 {{name: 机关名称, code: 机关代码}}")
    validity = _validity(path, raw, str(subject), registry, problems, where)
    holder_name = None
    fields: list[LicenceField] = []
    if subject is not None:
        holder_name = _fact(
            path,
            raw.line_of("holder_name"),
            raw.get("holder_name"),
            subject,
            registry,
            problems,
            f"{where}的 holder_name ",
            FactType.STRING,
        )
        raw_fields = raw.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            problems.add(path, raw.line, f"{where}缺少 fields（证照上打印的字段：label 与 fact）")
        else:
            labels: set[str] = set()
            for entry in raw_fields:
                if not isinstance(entry, LocatedDict):
                    problems.add(path, raw.line_of("fields"), f"{where}的 fields 每一项应为 {{label, fact}}")
                    continue
                label = _text(path, entry, "label", problems, f"{where}的字段")
                fact = _fact(
                    path,
                    entry.line,
                    entry.get("fact"),
                    subject,
                    registry,
                    problems,
                    f"{where}的字段“{label}”",
                )
                if label in labels:
                    problems.add(path, entry.line, f"{where}的字段“{label}”重复")
                if label is not None and fact is not None:
                    labels.add(label)
                    fields.append(LicenceField(label, fact))
    if len(problems.items) > before:
        return None
    assert name and code and credential_type and subject and department and issuer_name and issuer_code
    assert validity is not None and holder_name is not None
    return LicenceType(
        name=name,
        code=code,
        credential_type=credential_type,
        subject=str(subject),
        department=department,
        issuer_name=issuer_name,
        issuer_code=issuer_code,
        validity=validity,
        holder_name=holder_name,
        fields=tuple(fields),
        file=str(path),
        line=raw.line,
    )


def _validity(
    path: Path, raw: LocatedDict, subject: str, registry: FactRegistry, problems: Problems, where: str
) -> LicenceValidity | None:
    value = raw.get("validity")
    line = raw.line_of("validity")
    message = f"{where}的 validity 应为 {{years: n}}、{{months: n}}、{{until: 日期事实}} 或 {{permanent: true}} 之一"
    if not isinstance(value, LocatedDict) or len(value) != 1:
        problems.add(path, line, message)
        return None
    key, amount = next(iter(value.items()))
    if key in ("years", "months"):
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= 100 * 12:
            problems.add(path, line, f"{where}的有效期 {key} 须为正整数")
            return None
        return LicenceValidity(years=amount) if key == "years" else LicenceValidity(months=amount)
    if key == "until":
        fact = _fact(
            path, line, amount, subject, registry, problems, f"{where}的有效期 until ", FactType.DATE
        )
        return LicenceValidity(until_fact=fact) if fact else None
    if key == "permanent" and amount is True:
        return LicenceValidity(permanent=True)
    problems.add(path, line, message)
    return None


def check_item_results(
    items: Mapping[str, Item], types: Mapping[str, LicenceType], path: Path, problems: Problems
) -> None:
    """Every item's result licence type is declared, for the same subject and department, and the
    form fields it prints are the item's own."""
    for item in items.values():
        if item.result_licence_type is None:
            continue
        licence_type = types.get(item.result_licence_type)
        if licence_type is None:
            problems.add(
                item.file, 1, f"事项结果证照“{item.result_licence_type}”未在 {path.name} 中声明证照类型"
            )
            continue
        if licence_type.subject != item.subject:
            problems.add(
                item.file, 1, f"证照类型“{licence_type.name}”的持证主体为 {licence_type.subject}，与事项不符"
            )
        if licence_type.department != item.department:
            problems.add(
                item.file,
                1,
                f"证照类型“{licence_type.name}”由部门 {licence_type.department} 签发，与事项的实施部门"
                f" {item.department} 不符",
            )
        form = {form_field.fact.name for form_field in item.form}
        for fact in licence_type.facts:
            if fact.startswith("form.") and fact not in form:
                problems.add(
                    item.file, 1, f"证照类型“{licence_type.name}”打印表单字段“{fact}”，但本事项没有该字段"
                )
