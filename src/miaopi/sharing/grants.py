"""Authorisation by purpose: a grant lets one department, for one item or policy, read named fields
of one resource. Anything not granted is refused with a message saying exactly what was missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from miaopi.sharing.catalogue import CatalogueError, ResourceCatalogue, SharingType


class AccessRefused(PermissionError):
    """A read was not covered by any grant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Grant:
    department: str
    purpose: str  # "item:<code>" or "policy:<id>"
    resource: str
    fields: frozenset[str]


class GrantRegistry:
    """All grants in force, checked against the resource catalogue when added."""

    def __init__(self, catalogue: ResourceCatalogue, grants: Iterable[Grant] = ()) -> None:
        self.catalogue = catalogue
        self._fields: dict[tuple[str, str, str], frozenset[str]] = {}
        for grant in grants:
            self.add(grant)

    def add(self, grant: Grant) -> None:
        if grant.department not in self.catalogue.departments:
            raise CatalogueError(f"授权中的部门“{grant.department}”未在资源目录中登记")
        resource = self.catalogue.resource(grant.resource)
        if resource.sharing is SharingType.NONE:
            raise CatalogueError(f"资源“{resource.code}”（{resource.name}）为不予共享，不能授权")
        unknown = sorted(grant.fields - set(resource.field_names))
        if unknown:
            raise CatalogueError(f"授权引用了资源“{resource.code}”中不存在的字段：{', '.join(unknown)}")
        key = (grant.department, grant.purpose, grant.resource)
        self._fields[key] = self._fields.get(key, frozenset()) | grant.fields

    def granted_fields(self, department: str, purpose: str, resource: str) -> frozenset[str]:
        return self._fields.get((department, purpose, resource), frozenset())

    def check(self, department: str, purpose: str, resource: str, fields: Iterable[str]) -> tuple[str, ...]:
        """Return the requested fields (in order) if all are granted, else raise AccessRefused."""
        requested = tuple(dict.fromkeys(fields))
        if resource not in self.catalogue.resources:
            raise AccessRefused(f"资源目录中没有资源“{resource}”")
        granted = self.granted_fields(department, purpose, resource)
        if not granted:
            raise AccessRefused(
                f"部门“{department}”未获授权为“{purpose}”读取资源“{resource}”：请先申请共享授权"
            )
        missing = [field for field in requested if field not in granted]
        if missing:
            raise AccessRefused(
                f"部门“{department}”为“{purpose}”读取资源“{resource}”时，字段 {', '.join(missing)} 未获授权"
                f"（已授权：{', '.join(sorted(granted))}）"
            )
        return requested

    def grants(self) -> list[Grant]:
        return [
            Grant(department=d, purpose=p, resource=r, fields=fields)
            for (d, p, r), fields in self._fields.items()
        ]

    def load_file(self, path: Path) -> None:
        """Add the grants of a YAML file: ``grants: [{department, purpose, resource, fields: [...]}]``."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise CatalogueError(f"{path}: 无法读取授权文件：{error}") from None
        for index, entry in enumerate(document.get("grants") or []):
            where = f"{path}: grants[{index}]"
            if not isinstance(entry, dict):
                raise CatalogueError(f"{where}: 应为映射")
            missing = [key for key in ("department", "purpose", "resource", "fields") if not entry.get(key)]
            if missing:
                raise CatalogueError(f"{where}: 缺少 {', '.join(missing)}")
            try:
                self.add(
                    Grant(
                        department=str(entry["department"]),
                        purpose=str(entry["purpose"]),
                        resource=str(entry["resource"]),
                        fields=frozenset(str(field) for field in entry["fields"]),
                    )
                )
            except CatalogueError as error:
                raise CatalogueError(f"{where}: {error}") from None
