from __future__ import annotations

import base64
import gzip
import random
from datetime import UTC, datetime

import pytest

from miaopi.licence.status import (
    MIN_ENTRIES,
    IndexAllocator,
    StatusList,
    StatusListError,
    StatusPurpose,
    status_list_credential,
)

# The specification's example encodedList: 131,072 bits, all zero (anchors/proactive-licences-security.md).
SPEC_EMPTY = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_size_and_defaults() -> None:
    status_list = StatusList()
    assert status_list.size == len(status_list) == MIN_ENTRIES == 131_072
    assert len(status_list.to_bytes()) == 16 * 1024
    assert status_list.count() == 0
    assert status_list.purpose is StatusPurpose.REVOCATION
    with pytest.raises(StatusListError, match="至少"):
        StatusList(1024)


def test_set_and_get() -> None:
    status_list = StatusList(purpose="suspension")
    for index in (0, 1, 7, 8, 94567, MIN_ENTRIES - 1):
        assert not status_list.get(index)
        status_list.set(index, True)
        assert status_list.get(index)
    assert status_list.count() == 6
    status_list.set(94567, False)  # suspension is reversible
    assert not status_list.get(94567)
    assert status_list.get(7) and status_list.get(8) and not status_list.get(6)
    with pytest.raises(StatusListError, match="超出范围"):
        status_list.get(MIN_ENTRIES)
    with pytest.raises(StatusListError):
        status_list.set(-1)


def test_bit_order_is_left_to_right() -> None:
    status_list = StatusList()
    status_list.set(0)
    status_list.set(9)
    raw = status_list.to_bytes()
    assert raw[0] == 0b1000_0000 and raw[1] == 0b0100_0000


def test_encoded_list_format() -> None:
    status_list = StatusList()
    status_list.set(12345)
    encoded = status_list.encoded_list
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded and "/" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == status_list.to_bytes()
    assert len(encoded) < 200  # sparse lists compress well


def test_round_trip() -> None:
    rng = random.Random(7)
    status_list = StatusList(MIN_ENTRIES * 2)
    chosen = {rng.randrange(status_list.size) for _ in range(2000)}
    for index in chosen:
        status_list.set(index)
    decoded = StatusList.decode(status_list.encoded_list)
    assert decoded.size == MIN_ENTRIES * 2
    assert decoded.to_bytes() == status_list.to_bytes()
    assert {i for i in range(decoded.size) if decoded.get(i)} == chosen


def test_decodes_the_specification_example() -> None:
    decoded = StatusList.decode(SPEC_EMPTY)
    assert decoded.size == MIN_ENTRIES and decoded.count() == 0


def test_decode_rejects_bad_input() -> None:
    with pytest.raises(StatusListError, match="“u”"):
        StatusList.decode("z" + SPEC_EMPTY[1:])
    with pytest.raises(StatusListError, match="无法解码"):
        StatusList.decode("u!!!!")
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).decode().rstrip("=")
    with pytest.raises(StatusListError, match="少于"):
        StatusList.decode(short)


def test_status_list_credential_document() -> None:
    status_list = StatusList(purpose=StatusPurpose.SUSPENSION)
    status_list.set(3)
    url = "https://zwfw.example.gov.cn/status/330100/suspension/1"
    document = status_list_credential(
        url,
        "https://zwfw.example.gov.cn/issuers/330100",
        status_list,
        datetime(2026, 11, 22, tzinfo=UTC),
        ttl_ms=300_000,
    )
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["id"] == url
    subject = document["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "suspension"
    assert subject["ttl"] == 300_000
    decoded = StatusList.from_credential(document)
    assert decoded.get(3) and decoded.purpose is StatusPurpose.SUSPENSION
    assert decoded.issuer == "https://zwfw.example.gov.cn/issuers/330100"


def test_allocator_next_free() -> None:
    allocator = IndexAllocator(used=[0, 1, 3])
    assert [allocator.next_free() for _ in range(3)] == [2, 4, 5]
    assert allocator.remaining == MIN_ENTRIES - 6


def test_allocator_random_free_never_repeats_and_fills_up() -> None:
    allocator = IndexAllocator(size=16)
    rng = random.Random(1)
    got = [allocator.random_free(rng) for _ in range(16)]
    assert sorted(got) == list(range(16))
    with pytest.raises(StatusListError, match="已全部分配"):
        allocator.random_free(rng)
    with pytest.raises(StatusListError):
        allocator.next_free()
