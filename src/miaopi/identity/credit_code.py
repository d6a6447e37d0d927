"""Unified social credit code (统一社会信用代码), GB 32100-2015, with the embedded GB 11714
organisation-code check.

Some codes issued in early pilots fail the checksum yet are legal; they parse with ``warning`` set
instead of raising, so they are flagged without being rejected or silently accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from miaopi.identity.errors import IdentifierError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Legal codes from early pilots that fail the checksum (standards.md §2).
KNOWN_PILOT_CODES = frozenset({"91350100M0001TGQXM", "91350211M0000XUF46", "91350203M0001FUE2P"})

AUTHORITIES = {
    "1": "机构编制",
    "5": "民政",
    "9": "工商（市场监管）",
    "Y": "其他",
}
CATEGORIES = {
    ("9", "1"): "企业",
    ("9", "2"): "个体工商户",
    ("9", "3"): "农民专业合作社",
    ("5", "1"): "社会团体",
    ("5", "2"): "民办非企业单位",
    ("5", "3"): "基金会",
}


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organisation_check_character(body8: str) -> str:
    total = sum(ORG_VALUES.index(char) * weight for char, weight in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


@dataclass(frozen=True, slots=True)
class CreditCode:
    code: str
    authority: str
    category: str
    region: str
    organisation_code: str
    warning: str | None = None

    @property
    def entity_kind(self) -> str:
        return CATEGORIES.get((self.authority, self.category), "其他组织")


def parse_credit_code(value: str) -> CreditCode:
    """Validate an 18-character credit code; raises IdentifierError, or warns for known pilot codes."""
    code = value.strip().upper()
    if len(code) != 18:
        raise IdentifierError("length", f"统一社会信用代码应为18位，实际为{len(code)}位")
    for position, char in enumerate(code, start=1):
        if char not in ALPHABET:
            raise IdentifierError(
                "character",
                f"统一社会信用代码第{position}位“{char}”不是允许的字符（不使用I、O、Z、S、V）",
            )
    region = code[2:8]
    if not region.isdigit():
        raise IdentifierError("region", f"统一社会信用代码第3–8位行政区划码“{region}”应为6位数字")
    parsed = CreditCode(
        code=code, authority=code[0], category=code[1], region=region, organisation_code=code[8:17]
    )
    warnings: list[str] = []
    org_body, org_check = code[8:16], code[16]
    if org_check not in ORG_VALUES or any(char not in ORG_VALUES for char in org_body):
        warnings.append(f"第9–17位组织机构代码“{code[8:17]}”含无效字符")
    else:
        org_expected = organisation_check_character(org_body)
        if org_expected != org_check:
            warnings.append(f"第9–17位组织机构代码校验码应为“{org_expected}”，实际为“{org_check}”")
    expected = check_character(code[:17])
    if expected != code[17]:
        warnings.insert(0, f"统一社会信用代码校验码错误：按前17位计算应为“{expected}”，实际为“{code[17]}”")
    if not warnings:
        return parsed
    if code in KNOWN_PILOT_CODES:
        note = "；".join(warnings)
        return _with_warning(parsed, f"早期试点赋码，未通过校验（{note}），按有效处理并提示人工核对")
    raise IdentifierError("checksum", "；".join(warnings))


def _with_warning(parsed: CreditCode, warning: str) -> CreditCode:
    return CreditCode(
        code=parsed.code,
        authority=parsed.authority,
        category=parsed.category,
        region=parsed.region,
        organisation_code=parsed.organisation_code,
        warning=warning,
    )
