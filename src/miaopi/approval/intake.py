"""What an application carries when it arrives, validated at the boundary."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from miaopi.catalog import Item
from miaopi.identity import IdentifierError, parse_citizen_id, parse_subject_id
from miaopi.rules import FactType

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
KEY_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    content_base64: str = Field(max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8)

    def content(self) -> bytes:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("content_base64 不是有效的 Base64 编码") from None


class MaterialIn(BaseModel):
    """A material: an uploaded file, or the number of a licence the applicant already holds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    licence_number: str | None = Field(default=None, max_length=64)
    file: UploadIn | None = None


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="公民身份号码或统一社会信用代码")
    acting_person: str | None = Field(default=None, description="经办人（法定代表人或代理人）的公民身份号码")

    @field_validator("id")
    @classmethod
    def _subject(cls, value: str) -> str:
        try:
            return parse_subject_id(value)[1]
        except IdentifierError as error:
            raise ValueError(error.message) from None

    @field_validator("acting_person")
    @classmethod
    def _person(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_citizen_id(value).number
        except IdentifierError as error:
            raise ValueError(error.message) from None


FormValue = str | int | float | bool | None


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_code: str = Field(min_length=1, max_length=64)
    applicant: ApplicantIn
    form: dict[str, FormValue] = Field(default_factory=dict, max_length=100)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)
    commitments: list[str] = Field(default_factory=list, max_length=50, description="告知承诺替代的材料名称")
    request_human_review: bool = Field(
        default=False, description="申请人要求人工审核（个人信息保护法第二十四条）"
    )
    idempotency_key: str = Field(
        pattern=KEY_PATTERN, description="幂等键：同一键同一内容重复提交返回同一办件"
    )

    def request_hash(self) -> str:
        # Sorted keys, no spaces, UTF-8 as it is: the bytes json.dumps(sort_keys=True,
        # ensure_ascii=False, separators=(",", ":")) gives, so hashes stored earlier still match.
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return "sha256:" + hashlib.sha256(canonical).hexdigest()


class IntakeError(ValueError):
    """Input that is well-formed JSON but wrong for the item; names the field and the reason."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


def validate_form(item: Item, form: dict[str, FormValue]) -> dict[str, Any]:
    """Typed form values for the item's declared fields; IntakeError names the first bad field."""
    declared = {field.fact.name.removeprefix("form."): field for field in item.form}
    for name in form:
        if name not in declared:
            raise IntakeError(f"form.{name}", f"事项“{item.name}”没有该表单字段")
    values: dict[str, Any] = {}
    for name, field in declared.items():
        raw = form.get(name)
        if raw is None:
            if field.required:
                raise IntakeError(f"form.{name}", f"必填项“{field.fact.label}”未填写")
            values[name] = None
            continue
        value = _typed(raw, field.fact.type, f"form.{name}", field.fact.label)
        if field.choices is not None and value not in field.choices:
            allowed = "、".join(str(choice) for choice in field.choices)
            raise IntakeError(f"form.{name}", f"“{field.fact.label}”应为以下之一：{allowed}")
        values[name] = value
    return values


def _typed(raw: FormValue, fact_type: FactType, field: str, label: str) -> Any:
    if fact_type is FactType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        raise IntakeError(field, f"“{label}”应为 true 或 false")
    if fact_type is FactType.INTEGER:
        if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) <= 10**15:
            return raw
        raise IntakeError(field, f"“{label}”应为整数")
    if fact_type is FactType.NUMBER:
        if isinstance(raw, int | float) and not isinstance(raw, bool) and abs(raw) <= 1e15:
            return float(raw)
        raise IntakeError(field, f"“{label}”应为数字")
    if fact_type is FactType.DATE:
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
        raise IntakeError(field, f"“{label}”应为日期（YYYY-MM-DD）")
    if isinstance(raw, str):
        if len(raw) > 2000:
            raise IntakeError(field, f"“{label}”过长（最多2000字）")
        return raw
    raise IntakeError(field, f"“{label}”应为文本")
