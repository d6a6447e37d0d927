"""A message never carries more personal data than it needs (PIPL Art. 6: minimum necessary).

The recipient is known to the channel already, so a variable has no reason to hold a full citizen
ID number, unified social credit code, mobile number, bank card number or e-mail address.
:func:`personal_data_in` says which of those a value looks like; masked forms
(``4405**********0014``) and case numbers pass.
"""

from __future__ import annotations

import re
import unicodedata

from miaopi.identity import IdentifierError, parse_credit_code

_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])(\d{15,19}[Xx]?)(?![0-9A-Za-z])")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def personal_data_in(value: str) -> str | None:
    """What kind of personal data ``value`` appears to carry (in Chinese), or None."""
    text = unicodedata.normalize("NFKC", value)
    for match in _DIGIT_RUN.finditer(text):
        number = match.group(1)
        if len(number) in (15, 18) and (number[:-1].isdigit()):
            return "公民身份号码"
        if number.isdigit():
            return "银行卡号"
    for match in _CREDIT_CODE.finditer(text.upper()):
        try:
            parse_credit_code(match.group(1))
        except IdentifierError:
            continue
        return "统一社会信用代码"
    if _MOBILE.search(text):
        return "手机号码"
    if _EMAIL.search(text):
        return "电子邮箱地址"
    return None
