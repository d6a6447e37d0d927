"""Citizen ID number (公民身份号码), GB 11643-1999.

Checksum validity and plausibility of the region/date are kept apart: a number can carry a valid
check character while its region code predates its birth year (e.g. ``440524188001010014``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from miaopi.identity.errors import IdentifierError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True, slots=True)
class CitizenId:
    number: str
    region: str
    birth_date: dt.date
    sex: str  # "male" | "female"

    @property
    def sex_label(self) -> str:
        return "男" if self.sex == "male" else "女"


def parse_citizen_id(value: str, *, today: dt.date | None = None) -> CitizenId:
    """Validate and decompose an 18-character citizen ID number; raises IdentifierError."""
    number = value.strip().upper()
    if len(number) != 18:
        raise IdentifierError("length", f"公民身份号码应为18位，实际为{len(number)}位")
    for position, char in enumerate(number[:17], start=1):
        if not char.isascii() or not char.isdigit():
            raise IdentifierError("character", f"公民身份号码第{position}位应为数字，实际为“{char}”")
    last = number[17]
    if not (last.isascii() and (last.isdigit() or last == "X")):
        raise IdentifierError("character", f"公民身份号码第18位应为数字或X，实际为“{last}”")
    region = number[:6]
    if region[:2] in ("00",) or region[:2] < "11":
        raise IdentifierError("region", f"公民身份号码前6位地址码“{region}”不是有效的行政区划代码")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentifierError("date", f"公民身份号码第7–14位出生日期“{number[6:14]}”不是真实的日期") from None
    if birth > (today or dt.date.today()):
        raise IdentifierError("date", f"公民身份号码中的出生日期{birth.isoformat()}晚于今天")
    expected = check_character(number[:17])
    if expected != last:
        raise IdentifierError(
            "checksum", f"公民身份号码校验码错误：按前17位计算应为“{expected}”，实际为“{last}”"
        )
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return CitizenId(number=number, region=region, birth_date=birth, sex=sex)
