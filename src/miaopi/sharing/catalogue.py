"""The information resource catalogue (政务信息资源目录): departments and the resources they share.

A catalogue is a YAML file (see ``miaopi city generate`` output, ``resources.yaml``) listing
departments and, for each resource, its provider, sharing type, update cycle, subject key, fields and
where the data lives (a Parquet path relative to the file, or a SQL table).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from miaopi.identity import SubjectKind

FIELD_TYPES = ("string", "integer", "number", "boolean", "date")


class SharingType(StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享

    @property
    def label(self) -> str:
        return {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}[self.value]


class CatalogueError(ValueError):
    """A resource catalogue file is malformed; the message names the file, entry and field."""


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    org_code: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str


@dataclass(frozen=True)
class SqlLocation:
    url: str
    table: str


@dataclass(frozen=True)
class Resource:
    code: str
    name: str
    provider: str
    sharing: SharingType
    update_cycle: str
    subject: SubjectKind
    key: str
    many: bool
    fields: tuple[Field, ...]
    path: Path | None = None
    sql: SqlLocation | None = None
    classification: str | None = None
    sharing_condition: str | None = None

    def field(self, name: str) -> Field | None:
        return next((field for field in self.fields if field.name == name), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    @property
    def location(self) -> str:
        """Where the data lives, without credentials (recorded in evidence)."""
        if self.sql is not None:
            return f"sql:{_strip_password(self.sql.url)}#{self.sql.table}"
        return f"parquet:{self.path}"


def _strip_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


@dataclass(frozen=True)
class ResourceCatalogue:
    departments: dict[str, Department]
    resources: dict[str, Resource]

    def resource(self, code: str) -> Resource:
        try:
            return self.resources[code]
        except KeyError:
            raise CatalogueError(f"资源目录中没有资源“{code}”") from None

    @classmethod
    def load(cls, path: Path) -> ResourceCatalogue:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise CatalogueError(f"{path}: 无法读取资源目录：{error}") from None
        if not isinstance(document, dict):
            raise CatalogueError(f"{path}: 资源目录应为映射（包含 departments 和 resources）")
        return cls.from_document(document, base=path.parent, origin=str(path))

    @classmethod
    def from_document(cls, document: dict[str, Any], *, base: Path, origin: str) -> ResourceCatalogue:
        departments: dict[str, Department] = {}
        for index, entry in enumerate(document.get("departments") or []):
            where = f"{origin}: departments[{index}]"
            code = _required(entry, "code", where)
            if code in departments:
                raise CatalogueError(f"{where}: 部门代码“{code}”重复")
            departments[code] = Department(
                code=code, name=_required(entry, "name", where), org_code=entry.get("org_code")
            )
        resources: dict[str, Resource] = {}
        for index, entry in enumerate(document.get("resources") or []):
            resource = _parse_resource(entry, f"{origin}: resources[{index}]", base, departments)
            if resource.code in resources:
                raise CatalogueError(f"{origin}: 资源代码“{resource.code}”重复")
            resources[resource.code] = resource
        return cls(departments=departments, resources=resources)


def _required(entry: Any, key: str, where: str) -> str:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: 应为映射")
    value = entry.get(key)
    if value is None or value == "":
        raise CatalogueError(f"{where}: 缺少字段“{key}”")
    return str(value)


def _parse_resource(entry: Any, where: str, base: Path, departments: dict[str, Department]) -> Resource:
    code = _required(entry, "code", where)
    where = f"{where} ({code})"
    provider = _required(entry, "provider", where)
    if provider not in departments:
        raise CatalogueError(f"{where}: 提供部门“{provider}”未在 departments 中登记")
    try:
        sharing = SharingType(_required(entry, "sharing", where))
    except ValueError:
        raise CatalogueError(
            f"{where}: sharing 应为 unconditional / conditional / none，实际为“{entry.get('sharing')}”"
        ) from None
    try:
        subject = SubjectKind(_required(entry, "subject", where))
    except ValueError:
        raise CatalogueError(
            f"{where}: subject 应为 person 或 enterprise，实际为“{entry.get('subject')}”"
        ) from None
    records = entry.get("records", "one")
    if records not in ("one", "many"):
        raise CatalogueError(f"{where}: records 应为 one 或 many，实际为“{records}”")
    fields: list[Field] = []
    for position, raw in enumerate(entry.get("fields") or []):
        field_where = f"{where}: fields[{position}]"
        field_type = _required(raw, "type", field_where)
        if field_type not in FIELD_TYPES:
            raise CatalogueError(
                f"{field_where}: 类型“{field_type}”不受支持，应为 {', '.join(FIELD_TYPES)} 之一"
            )
        name = _required(raw, "name", field_where)
        fields.append(Field(name=name, type=field_type, label=str(raw.get("label") or name)))
    key = _required(entry, "key", where)
    if key not in {field.name for field in fields}:
        raise CatalogueError(f"{where}: 主体键“{key}”不在字段列表中")
    path = entry.get("path")
    sql = entry.get("sql")
    if (path is None) == (sql is None):
        raise CatalogueError(f"{where}: 需且只需给出 path（Parquet 文件）或 sql（数据库表）之一")
    location = None
    if sql is not None:
        location = SqlLocation(
            url=_required(sql, "url", f"{where}: sql"), table=_required(sql, "table", f"{where}: sql")
        )
    return Resource(
        code=code,
        name=_required(entry, "name", where),
        provider=provider,
        sharing=sharing,
        update_cycle=str(entry.get("update_cycle") or "未说明"),
        subject=subject,
        key=key,
        many=records == "many",
        fields=tuple(fields),
        path=(base / path).resolve() if path is not None else None,
        sql=location,
        classification=entry.get("classification"),
        sharing_condition=entry.get("sharing_condition"),
    )
