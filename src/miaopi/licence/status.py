"""W3C Bitstring Status List v1.0: revocation and suspension lists.

Bit ``i`` is the ``i``-th bit from the left of the bitstring (index 0 = most significant bit of the
first byte). ``encodedList`` = multibase ``"u"`` + base64url without padding of the GZIP-compressed
bitstring. A list holds at least 131,072 entries (16 KiB uncompressed) for herd privacy.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import random
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from miaopi.licence.signing import format_datetime

__all__ = [
    "MIN_ENTRIES",
    "IndexAllocator",
    "StatusList",
    "StatusListError",
    "StatusPurpose",
    "status_list_credential",
]

MIN_ENTRIES = 131_072
_MAX_DECOMPRESSED = 16 * 1024 * 1024  # refuse gzip bombs: 134M entries is far beyond any list


class StatusPurpose(StrEnum):
    REVOCATION = "revocation"  # irreversible
    SUSPENSION = "suspension"  # reversible


class StatusListError(ValueError):
    """A status list is malformed, too short, or an index is out of range (Chinese message)."""


class StatusList:
    """A bitstring of ``size`` one-bit entries, all false at creation."""

    __slots__ = ("_bits", "issuer", "purpose")

    def __init__(
        self,
        size: int = MIN_ENTRIES,
        purpose: StatusPurpose | str = StatusPurpose.REVOCATION,
        issuer: str | None = None,
    ) -> None:
        """``issuer``: the id of the authority whose signed list this is (set by ``load_status_list``);
        when set, only that authority's licences may be checked against it."""
        if size < MIN_ENTRIES or size % 8:
            raise StatusListError(f"状态列表至少 {MIN_ENTRIES} 项且为 8 的倍数，收到 {size}")
        self._bits = bytearray(size // 8)
        self.purpose = StatusPurpose(purpose)
        self.issuer = issuer

    @property
    def size(self) -> int:
        return len(self._bits) * 8

    def __len__(self) -> int:
        return self.size

    def _check(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise StatusListError(f"状态索引 {index!r} 超出范围 0–{self.size - 1}")

    def get(self, index: int) -> bool:
        self._check(index)
        return bool(self._bits[index >> 3] & (0x80 >> (index & 7)))

    def set(self, index: int, value: bool = True) -> None:
        self._check(index)
        if value:
            self._bits[index >> 3] |= 0x80 >> (index & 7)
        else:
            self._bits[index >> 3] &= ~(0x80 >> (index & 7)) & 0xFF

    def count(self) -> int:
        """Number of entries set."""
        return sum(byte.bit_count() for byte in self._bits)

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    @property
    def encoded_list(self) -> str:
        compressed = gzip.compress(bytes(self._bits), compresslevel=9, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(
        cls,
        encoded_list: str,
        purpose: StatusPurpose | str = StatusPurpose.REVOCATION,
        issuer: str | None = None,
    ) -> StatusList:
        if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
            raise StatusListError("encodedList 须为 multibase base64url（以“u”开头）")
        body = encoded_list[1:]
        try:
            compressed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            raw = decompressor.decompress(compressed, _MAX_DECOMPRESSED)
        except (binascii.Error, ValueError, zlib.error) as error:
            raise StatusListError(f"encodedList 无法解码：{error}") from error
        if decompressor.unconsumed_tail:
            raise StatusListError("encodedList 解压后过大")
        if not decompressor.eof:
            raise StatusListError("encodedList 无法解码：GZIP 数据不完整")
        if len(raw) * 8 < MIN_ENTRIES:
            raise StatusListError(f"状态列表仅有 {len(raw) * 8} 项，少于规范要求的 {MIN_ENTRIES} 项")
        status_list = cls(len(raw) * 8, purpose, issuer)
        status_list._bits[:] = raw
        return status_list

    @classmethod
    def from_credential(cls, document: Mapping[str, Any]) -> StatusList:
        """Decode the list inside a BitstringStatusListCredential (its proof is checked elsewhere)."""
        subject = document.get("credentialSubject") if isinstance(document, Mapping) else None
        if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
            raise StatusListError("不是 BitstringStatusList 状态列表凭证")
        purpose = subject.get("statusPurpose")
        if purpose not in {p.value for p in StatusPurpose}:
            raise StatusListError(f"不支持的状态用途：{purpose!r}")
        issuer = document.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        return cls.decode(
            subject.get("encodedList", ""), purpose, issuer_id if isinstance(issuer_id, str) else None
        )


def status_list_credential(
    list_url: str,
    issuer: str | Mapping[str, Any],
    status_list: StatusList,
    valid_from: datetime,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential served at ``list_url`` (sign it with the key ring)."""
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": status_list.purpose.value,
        "encodedList": status_list.encoded_list,
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": dict(issuer) if isinstance(issuer, Mapping) else issuer,
        "validFrom": format_datetime(valid_from),
        "credentialSubject": subject,
    }


class IndexAllocator:
    """Hands out list indexes never used before.

    ``next_free()`` gives the lowest unused index; ``random_free()`` a random one (the specification
    says issuers SHOULD assign indexes randomly, so a list's order leaks no issuance order). The
    integrator persists ``used`` (e.g. a unique column on the licence table).
    """

    def __init__(self, size: int = MIN_ENTRIES, used: Iterable[int] = ()) -> None:
        self.size = size
        self._used = bytearray(size // 8 + 1)
        self._count = 0
        self._cursor = 0
        for index in used:
            self.mark_used(index)

    def is_used(self, index: int) -> bool:
        return bool(self._used[index >> 3] & (1 << (index & 7)))

    def mark_used(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise StatusListError(f"状态索引 {index} 超出范围 0–{self.size - 1}")
        if not self.is_used(index):
            self._used[index >> 3] |= 1 << (index & 7)
            self._count += 1

    @property
    def remaining(self) -> int:
        return self.size - self._count

    def _full(self) -> StatusListError:
        return StatusListError(f"状态列表的 {self.size} 个索引已全部分配，请启用新的状态列表")

    def next_free(self) -> int:
        if self.remaining == 0:
            raise self._full()
        while self.is_used(self._cursor):
            self._cursor += 1
        index = self._cursor
        self.mark_used(index)
        return index

    def random_free(self, rng: random.Random | None = None) -> int:
        if self.remaining == 0:
            raise self._full()
        chooser = rng or random.SystemRandom()
        for _ in range(64):
            index = chooser.randrange(self.size)
            if not self.is_used(index):
                self.mark_used(index)
                return index
        return self.next_free()  # a nearly full list: fall back to a scan
