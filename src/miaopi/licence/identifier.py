"""Licence identifier (证照标识), GB/T 36904-2018 style.

``1.2.156.3005.2.<licence type code>.<issuer code>.<serial>.<3-digit version>.<check character>``

The check character is ISO/IEC 7064 MOD 37,36 (hybrid system) computed over the four fields
concatenated without the root OID and without dots (standards.md §3): characters 0–9 → 0–9 and
A–Z → 10–35; ``p = 36``; per character ``p = (p + v) mod 36`` (0 → 36), ``p = (p × 2) mod 37``;
check = ``(37 − p) mod 36`` written as 0–9A–Z.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from miaopi.identity.errors import IdentifierError

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUES = {char: value for value, char in enumerate(ALPHABET)}
# one MOD 37,36 step per (state p, character): p' = ((p + v) mod 36 or 36) × 2 mod 37
_STEP = [{char: (((p + value) % 36 or 36) * 2) % 37 for char, value in _VALUES.items()} for p in range(37)]
_FIELD = re.compile("[0-9A-Z]+")
_FIELD_NAMES = ("证照类型代码", "发证机关代码", "流水号", "版本号", "校验位")

__all__ = [
    "ROOT",
    "IdentifierError",
    "LicenceIdentifier",
    "check_character",
    "make_identifier",
    "parse_identifier",
]


def check_character(body: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character over ``body`` (fields concatenated, no dots)."""
    if not body:
        raise IdentifierError("length", "计算校验位的内容不能为空")
    p = 36
    step = _STEP
    try:
        for char in body:
            p = step[p][char]
    except KeyError:
        position, char = next((i, c) for i, c in enumerate(body, start=1) if c not in _VALUES)
        raise IdentifierError(
            "character", f"第 {position} 位字符“{char}”无效：只允许数字 0–9 和大写字母 A–Z"
        ) from None
    return ALPHABET[(37 - p) % 36]


@dataclass(frozen=True, slots=True)
class LicenceIdentifier:
    """A parsed, validated licence identifier."""

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str

    @property
    def body(self) -> str:
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"

    def __str__(self) -> str:
        return f"{ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}.{self.version:03d}.{self.check}"


def _check_field(name: str, value: str) -> None:
    if not value:
        raise IdentifierError("fields", f"{name}不能为空")
    if _FIELD.fullmatch(value):
        return
    for position, char in enumerate(value, start=1):
        if char not in _VALUES:
            hint = "（字母须大写）" if char.isascii() and char.isalpha() else ""
            raise IdentifierError(
                "character",
                f"{name}“{value}”第 {position} 位字符“{char}”无效：只允许数字 0–9 和大写字母 A–Z{hint}",
            )


def make_identifier(type_code: str, issuer_code: str, serial: str, version: int = 1) -> str:
    """Compose an identifier and append its check character."""
    for name, value in zip(_FIELD_NAMES, (type_code, issuer_code, serial), strict=False):
        _check_field(name, value)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        raise IdentifierError("fields", f"版本号须为 1–999 的整数，收到“{version}”")
    body = f"{type_code}{issuer_code}{serial}{version:03d}"
    return f"{ROOT}.{type_code}.{issuer_code}.{serial}.{version:03d}.{check_character(body)}"


def parse_identifier(text: str) -> LicenceIdentifier:
    """Validate ``text`` and split it into its fields; raise :class:`IdentifierError` (Chinese)."""
    if not isinstance(text, str):
        raise IdentifierError("fields", "证照标识须为文本")
    value = text.strip()
    if not value.startswith(ROOT + "."):
        raise IdentifierError("root", f"证照标识须以“{ROOT}.”开头，收到“{value[: len(ROOT) + 1]}”")
    fields = value[len(ROOT) + 1 :].split(".")
    if len(fields) != 5:
        raise IdentifierError(
            "fields",
            f"证照标识在“{ROOT}.”之后应有 5 段（证照类型代码、发证机关代码、流水号、版本号、校验位），收到 {len(fields)} 段",
        )
    type_code, issuer_code, serial, version, check = fields
    for name, field in zip(_FIELD_NAMES, fields, strict=True):
        _check_field(name, field)
    if len(version) != 3 or not version.isdigit():
        raise IdentifierError("fields", f"版本号须为 3 位数字，收到“{version}”")
    if len(check) != 1:
        raise IdentifierError("fields", f"校验位须为 1 个字符，收到“{check}”")
    expected = check_character(type_code + issuer_code + serial + version)
    if check != expected:
        raise IdentifierError("checksum", f"校验位不符：应为“{expected}”，实为“{check}”")
    return LicenceIdentifier(type_code, issuer_code, serial, int(version), check)
