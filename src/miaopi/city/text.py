"""Vectorised construction of string columns (ID numbers, credit codes, names, numbers).

Strings are built as fixed-width byte matrices with numpy and handed to Arrow without a Python loop;
variable strings are concatenated with Arrow compute from vocabularies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from miaopi.city.draw import Ints
from miaopi.identity.citizen_id import CHECK_CHARS
from miaopi.identity.citizen_id import WEIGHTS as CITIZEN_WEIGHTS
from miaopi.identity.credit_code import ALPHABET, ORG_VALUES, ORG_WEIGHTS
from miaopi.identity.credit_code import WEIGHTS as CREDIT_WEIGHTS

Bytes = npt.NDArray[np.uint8]

_ZERO = ord("0")
_CITIZEN_W = np.array(CITIZEN_WEIGHTS, dtype=np.int64)
_CITIZEN_CHECK = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)
_CREDIT_W = np.array(CREDIT_WEIGHTS, dtype=np.int64)
_ORG_W = np.array(ORG_WEIGHTS, dtype=np.int64)
_ALPHABET = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
# ASCII byte → value in the credit-code alphabet, and → value in the organisation-code alphabet.
_CREDIT_VALUE = np.full(256, -1, dtype=np.int64)
_CREDIT_VALUE[_ALPHABET] = np.arange(len(ALPHABET))
_ORG_VALUE = np.full(256, -1, dtype=np.int64)
_ORG_VALUE[np.frombuffer(ORG_VALUES.encode(), dtype=np.uint8)] = np.arange(len(ORG_VALUES))
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # index 11 − (Σ mod 11) ∈ 1…11


def digits(values: npt.ArrayLike, width: int) -> Bytes:
    """Zero-padded decimal digits of non-negative integers as an (n, width) ASCII matrix."""
    number = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((number[:, None] // powers) % 10 + _ZERO).astype(np.uint8)


def base31(values: npt.ArrayLike, width: int) -> Bytes:
    """Digits of integers in the credit-code alphabet (ASCII order = numeric order)."""
    number = np.asarray(values, dtype=np.int64)
    powers = 31 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return _ALPHABET[(number[:, None] // powers) % 31]


def codes_matrix(codes: Sequence[str]) -> Bytes:
    """A vocabulary of equal-length ASCII codes as a (k, width) matrix, for ``take`` by index."""
    return np.frombuffer("".join(codes).encode(), dtype=np.uint8).reshape(len(codes), -1)


def strings(matrix: Bytes) -> pa.StringArray:
    """An Arrow string array from an (n, width) ASCII matrix, zero-copy of the bytes."""
    rows, width = matrix.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def citizen_ids(region: Bytes, year: Ints, month: Ints, day: Ints, sequence: Ints) -> Bytes:
    """GB 11643 ID numbers: region (n, 6) + YYYYMMDD + 3-digit sequence + MOD 11-2 check."""
    body = np.concatenate(
        [region, digits(year, 4), digits(month, 2), digits(day, 2), digits(sequence, 3)], axis=1
    )
    total = (body.astype(np.int64) - _ZERO) @ _CITIZEN_W
    return np.concatenate([body, _CITIZEN_CHECK[total % 11][:, None]], axis=1)


def credit_codes(prefix: Bytes, region: Bytes, org_body: Bytes) -> Bytes:
    """GB 32100 codes: 2-char authority/category + region (n, 6) + 8-char organisation body, with
    the GB 11714 organisation check (position 17) and the code's own check (position 18)."""
    org_total = _ORG_VALUE[org_body] @ _ORG_W
    org_check = _ORG_CHECK[11 - org_total % 11]
    first17 = np.concatenate([prefix, region, org_body, org_check[:, None]], axis=1)
    total = _CREDIT_VALUE[first17] @ _CREDIT_W
    return np.concatenate([first17, _ALPHABET[(31 - total % 31) % 31][:, None]], axis=1)


def pick(vocabulary: Sequence[str] | pa.Array, index: npt.ArrayLike) -> pa.Array:
    """Strings of ``vocabulary`` at ``index`` (Arrow take)."""
    source = vocabulary if isinstance(vocabulary, pa.Array) else pa.array(list(vocabulary), pa.string())
    return source.take(pa.array(np.asarray(index, dtype=np.int64)))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays (and literal strings)."""
    return pc.binary_join_element_wise(*parts, "")


def with_nulls(values: pa.Array, null: npt.NDArray[np.bool_]) -> pa.Array:
    """``values`` with nulls where ``null`` is true."""
    return pc.if_else(pa.array(null), pa.nulls(len(values), values.type), values)
