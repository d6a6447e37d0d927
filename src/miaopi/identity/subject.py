"""A subject is who an application or benefit is about: a person or an enterprise (or other unit)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from miaopi.identity.citizen_id import parse_citizen_id
from miaopi.identity.credit_code import parse_credit_code
from miaopi.identity.errors import IdentifierError


class SubjectKind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


@lru_cache(maxsize=8192)
def parse_subject_id(value: str) -> tuple[SubjectKind, str, str | None]:
    """Tell a citizen ID number from a credit code and validate it.

    Returns (kind, normalised identifier, warning or None). An application's subject is parsed at
    intake, by the pipeline and by the exchange: the result is cached (invalid ones are not).
    """
    text = value.strip().upper()
    if len(text) != 18:
        raise IdentifierError(
            "length", f"主体标识应为18位公民身份号码或统一社会信用代码，实际为{len(text)}位"
        )
    if text[:17].isdigit() and (text[17].isdigit() or text[17] == "X"):
        try:
            return SubjectKind.PERSON, parse_citizen_id(text).number, None
        except IdentifierError as person_error:
            try:
                code = parse_credit_code(text)
            except IdentifierError:
                raise person_error from None
            return SubjectKind.ENTERPRISE, code.code, code.warning
    code = parse_credit_code(text)
    return SubjectKind.ENTERPRISE, code.code, code.warning
