"""JSON Canonicalization Scheme, RFC 8785.

* object members sorted by their names as arrays of UTF-16 code units;
* strings escaped minimally (``"``, ``\\``, control characters; ``\\b \\t \\n \\f \\r`` in short form,
  the rest as ``\\u00xx`` lowercase), everything else emitted as UTF-8;
* numbers serialised as ECMAScript's ``Number.prototype.toString`` does (shortest round-trip digits,
  ``1e+21`` style exponents); integers that are not exactly an IEEE double, NaN and Infinity are
  rejected, since they have no exact form;
* no whitespace.

Lone surrogates are rejected (they cannot be encoded as UTF-8).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["CanonicalisationError", "canonicalize", "format_number"]

_MAX_SAFE_INTEGER = 2**53 - 1
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_escape: Any = json.encoder.encode_basestring


class CanonicalisationError(ValueError):
    """The value cannot be represented in canonical JSON."""


def format_number(value: float) -> str:
    """ECMAScript ``Number::toString`` for a finite IEEE double (ECMA-262 §7.1.12.1)."""
    if not math.isfinite(value):
        raise CanonicalisationError(f"JSON 不允许非有限数值：{value!r}")
    if value == 0:
        return "0"  # both +0 and −0
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, correctly rounded (as ECMAScript requires).
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    integer_part, _, fraction = mantissa.partition(".")
    all_digits = integer_part + fraction
    significant = all_digits.lstrip("0")
    # value = 0.d1…dk × 10**n with d1 ≠ 0 (ECMA-262 notation: k digits, exponent n)
    n = len(integer_part) + int(exponent_text or 0) - (len(all_digits) - len(significant))
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exp = n - 1
    exp_text = f"e+{exp}" if exp >= 0 else f"e-{-exp}"
    if k == 1:
        return sign + digits + exp_text
    return sign + digits[0] + "." + digits[1:] + exp_text


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _serialise(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is dict:
        try:
            ascii_names = "".join(value).isascii()
        except TypeError:
            bad = next(name for name in value if type(name) is not str)
            raise CanonicalisationError(f"JSON 对象的键必须是字符串：{bad!r}") from None
        names = sorted(value) if ascii_names else sorted(value, key=_utf16_key)
        escape = _escape
        parts = []
        for name in names:
            item = value[name]
            parts.append(escape(name) + ":" + (escape(item) if type(item) is str else _serialise(item)))
        return "{" + ",".join(parts) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join([_serialise(item) for item in value]) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is int:
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(value)
        # beyond 2**53 only integers that are exactly a double have a canonical form
        try:
            exact = float(value) == value
        except OverflowError:
            exact = False
        if not exact:
            raise CanonicalisationError(f"整数无法精确表示为 IEEE 754 双精度数：{value}")
        return format_number(float(value))
    if kind is float:
        return format_number(value)
    raise CanonicalisationError(f"无法规范化为 JSON 的类型：{kind.__name__}")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool, None)."""
    try:
        return _serialise(value).encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalisationError("JSON 字符串中含有孤立的代理字符（lone surrogate）") from error
