"""Fact types of the rule language and the typing rules shared by both targets."""

from __future__ import annotations

from enum import StrEnum


class FactType(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    DATE = "date"


NUMERIC = frozenset({FactType.INTEGER, FactType.NUMBER})

# Chinese names used in messages for catalogue officers.
TYPE_LABELS: dict[FactType | None, str] = {
    FactType.BOOLEAN: "布尔 boolean",
    FactType.INTEGER: "整数 integer",
    FactType.NUMBER: "数值 number",
    FactType.STRING: "字符串 string",
    FactType.DATE: "日期 date",
    None: "NULL",
}

# SQL column types a caller should use for fact columns (DuckDB and Spark spell them the same way).
SQL_TYPES: dict[FactType, str] = {
    FactType.BOOLEAN: "BOOLEAN",
    FactType.INTEGER: "BIGINT",
    FactType.NUMBER: "DOUBLE",
    FactType.STRING: "VARCHAR",
    FactType.DATE: "DATE",
}


def label(t: FactType | None) -> str:
    return TYPE_LABELS[t]


def comparable(a: FactType | None, b: FactType | None) -> bool:
    """Whether values of types a and b may be compared (NULL, typed None, compares with anything)."""
    if a is None or b is None or a == b:
        return True
    return a in NUMERIC and b in NUMERIC


def join(a: FactType | None, b: FactType | None) -> FactType | None:
    """The common type of two branch types, or raise ValueError if they do not agree."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a in NUMERIC and b in NUMERIC:
        return FactType.NUMBER
    raise ValueError(f"{a} / {b}")
