"""The resource catalogue (信息资源目录): what each department shares, with fields and types.

Every Parquet file the generator writes is described here first; the writer derives the Arrow
schema from these field lists, so the catalogue and the files cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import pyarrow as pa
import yaml

from miaopi.city.text import codes_matrix, credit_codes, digits
from miaopi.city.vocab import DEPARTMENT_REGION, DEPARTMENTS

FieldType = Literal["string", "integer", "number", "boolean", "date"]
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    label: str

    def as_yaml(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "label": self.label}


@dataclass(frozen=True, slots=True)
class Resource:
    code: str  # "<area>.<table>"
    name: str
    classification: str
    provider: str  # department code
    subject: Literal["person", "enterprise"]
    key: str
    records: Literal["one", "many"]
    fields: tuple[Field, ...]
    update_cycle: str = "每日"
    sharing: Literal["unconditional", "conditional", "none"] = "unconditional"
    sharing_condition: str | None = None

    @property
    def path(self) -> str:
        return f"{self.provider}/{self.code}.parquet"

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.name, ARROW_TYPES[f.type]) for f in self.fields])

    def as_yaml(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "classification": self.classification,
            "provider": self.provider,
            "sharing": self.sharing,
            "sharing_condition": self.sharing_condition,
            "update_cycle": self.update_cycle,
            "subject": self.subject,
            "key": self.key,
            "records": self.records,
            "path": self.path,
            "fields": [f.as_yaml() for f in self.fields],
        }


def fields(spec: str) -> tuple[Field, ...]:
    """Fields from compact lines ``name type label``."""
    result = []
    for line in spec.strip().splitlines():
        name, kind, label = line.split()
        if kind not in ARROW_TYPES:
            raise ValueError(f"unknown field type {kind!r} for {name}")
        result.append(Field(name, cast(FieldType, kind), label))
    return tuple(result)


def department_org_code(org_body: str) -> str:
    """A valid credit code for a department (authority 1 机构编制, category 1 机关)."""
    matrix = credit_codes(codes_matrix(["11"]), digits([int(DEPARTMENT_REGION)], 6), codes_matrix([org_body]))
    return matrix.tobytes().decode()


def catalogue_document(resources: list[Resource]) -> dict[str, object]:
    return {
        "departments": [
            {"code": d.code, "name": d.name, "org_code": department_org_code(d.org_body)} for d in DEPARTMENTS
        ],
        "resources": [r.as_yaml() for r in resources],
    }


def write_catalogue(path: Path, resources: list[Resource]) -> None:
    document = catalogue_document(resources)
    with path.open("w", encoding="utf-8") as stream:
        yaml.safe_dump(document, stream, allow_unicode=True, sort_keys=False, width=1000)
