"""Credential building and the verdicts of verify_licence."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from miaopi.licence import (
    Ed25519Signer,
    HolderCodeType,
    IndexAllocator,
    Issuer,
    KeyRing,
    LicenceHolder,
    StatusList,
    StatusListError,
    StatusPurpose,
    StatusReference,
    VerdictKind,
    add_proof,
    build_credential,
    identifier_from_id,
    load_status_list,
    make_identifier,
    status_list_credential,
    verify_licence,
)

ISSUER = Issuer(
    id="https://zwfw.example.gov.cn/issuers/330105-scjg",
    name="杭州市拱墅区市场监督管理局",
    code="11330105002500287C",
)
HOLDER = LicenceHolder(
    code="91330105MA2XXXXX0X", code_type=HolderCodeType.CREDIT_CODE, name="杭州某某餐饮有限公司"
)
IDENTIFIER = make_identifier("11100000000013338W009", ISSUER.code, "2026112201", 1)
REVOCATION_URL = "https://zwfw.example.gov.cn/status/330105/revocation/1"
SUSPENSION_URL = "https://zwfw.example.gov.cn/status/330105/suspension/1"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
TODAY = date(2026, 11, 22)


@pytest.fixture
def ring() -> KeyRing:
    key_ring = KeyRing()
    key_ring.add_signer(Ed25519Signer.generate(f"{ISSUER.id}#key-2026"))
    return key_ring


@pytest.fixture
def lists() -> dict[str, StatusList]:
    return {
        REVOCATION_URL: StatusList(purpose=StatusPurpose.REVOCATION, issuer=ISSUER.id),
        SUSPENSION_URL: StatusList(purpose=StatusPurpose.SUSPENSION, issuer=ISSUER.id),
    }


def unsigned(index: int = 42, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "identifier": IDENTIFIER,
        "licence_type": "FoodBusinessLicence",
        "licence_name": "食品经营许可证",
        "issuer": ISSUER,
        "holder": HOLDER,
        "valid_from": date(2026, 11, 22),
        "valid_until": date(2031, 11, 21),
        "licence_fields": {
            "经营场所": "杭州市拱墅区某某路 1 号",
            "主体业态": "餐饮服务经营者",
            "经营项目": ["热食类食品制售"],
        },
        "status": [
            StatusReference(StatusPurpose.REVOCATION, index, REVOCATION_URL),
            StatusReference(StatusPurpose.SUSPENSION, index, SUSPENSION_URL),
        ],
        "licence_number": "JY13301050000001",
        "jurisdiction_code": "330105",
    }
    arguments.update(overrides)
    return build_credential(**arguments)


def issue(ring: KeyRing, **overrides: Any) -> dict[str, Any]:
    return ring.sign(unsigned(**overrides), NOW)


def test_credential_document_shape() -> None:
    document = unsigned()
    assert document["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert document["type"] == ["VerifiableCredential", "FoodBusinessLicence"]
    assert document["id"] == f"urn:gbt36904:{IDENTIFIER}"
    assert identifier_from_id(document["id"]) == IDENTIFIER
    assert document["issuer"] == {"id": ISSUER.id, "name": ISSUER.name, "issuerCode": ISSUER.code}
    assert document["validFrom"] == "2026-11-22T00:00:00+08:00"
    assert document["validUntil"] == "2031-11-21T23:59:59+08:00"
    subject = document["credentialSubject"]
    assert subject["holderCode"] == HOLDER.code
    assert subject["holderCodeType"] == "001"
    assert subject["holderName"] == HOLDER.name
    assert subject["licence"]["identifier"] == IDENTIFIER
    assert subject["licence"]["licenceTypeCode"] == "11100000000013338W009"
    assert subject["licence"]["fields"]["主体业态"] == "餐饮服务经营者"
    assert document["trustLevel"] == "A"
    revocation, suspension = document["credentialStatus"]
    assert revocation == {
        "id": f"{REVOCATION_URL}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": REVOCATION_URL,
    }
    assert suspension["statusPurpose"] == "suspension"
    json.dumps(document)  # plain JSON


def test_citizen_holder_and_aware_datetimes() -> None:
    holder = LicenceHolder("11010519491231002X", HolderCodeType.CITIZEN_ID, "张三")
    document = unsigned(holder=holder, valid_from=NOW, valid_until=None, status=[])
    assert document["credentialSubject"]["holderCodeType"] == "111"
    assert document["validFrom"] == "2026-11-22T09:30:00Z"
    assert "validUntil" not in document and "credentialStatus" not in document


def test_build_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="校验位"):
        unsigned(identifier=IDENTIFIER[:-1] + ("0" if IDENTIFIER[-1] != "0" else "1"))
    with pytest.raises(ValueError, match="ASCII"):
        unsigned(licence_type="食品经营许可证")
    with pytest.raises(ValueError, match="早于"):
        unsigned(valid_until=date(2026, 1, 1))
    with pytest.raises(ValueError, match="只能有一个"):
        unsigned(status=[StatusReference(StatusPurpose.REVOCATION, 1, REVOCATION_URL)] * 2)


def test_valid(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    verdict = verify_licence(issue(ring), ring, lists, TODAY)
    assert verdict.kind is VerdictKind.VALID and verdict.valid
    assert verdict.reason == "证照真实有效"
    assert verdict.identifier == IDENTIFIER


def test_survives_a_json_round_trip(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    text = json.dumps(issue(ring), ensure_ascii=True, indent=2)
    assert verify_licence(json.loads(text), ring, lists, TODAY).valid


def test_revoked_and_suspended(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    document = issue(ring, index=7)
    lists[SUSPENSION_URL].set(7)
    verdict = verify_licence(document, ring, lists, TODAY)
    assert verdict.kind is VerdictKind.SUSPENDED and "暂停" in verdict.reason
    lists[REVOCATION_URL].set(7)
    verdict = verify_licence(document, ring, lists, TODAY)
    assert verdict.kind is VerdictKind.REVOKED and "吊销" in verdict.reason
    lists[REVOCATION_URL].set(7, False)
    lists[SUSPENSION_URL].set(7, False)
    assert verify_licence(document, ring, lists, TODAY).valid
    assert verify_licence(issue(ring, index=8), ring, lists, TODAY).valid


def test_expired_and_not_yet_valid(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    document = issue(ring)
    assert verify_licence(document, ring, lists, date(2031, 11, 21)).valid  # last day still valid
    verdict = verify_licence(document, ring, lists, date(2031, 11, 22))
    assert verdict.kind is VerdictKind.EXPIRED and verdict.reason == "该证照已于 2031-11-21 过期"
    verdict = verify_licence(document, ring, lists, date(2026, 11, 21))
    assert verdict.kind is VerdictKind.NOT_YET_VALID and "2026-11-22" in verdict.reason
    # an exact instant: 23:59:59 Beijing on the last day is still valid, a second later is not
    beijing = timezone(timedelta(hours=8))
    assert verify_licence(document, ring, lists, datetime(2031, 11, 21, 23, 59, 59, tzinfo=beijing)).valid
    late = datetime(2031, 11, 22, 0, 0, 0, tzinfo=beijing)
    assert verify_licence(document, ring, lists, late).kind is VerdictKind.EXPIRED


def test_revocation_wins_over_expiry(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    lists[REVOCATION_URL].set(42)
    assert verify_licence(issue(ring), ring, lists, date(2040, 1, 1)).kind is VerdictKind.REVOKED


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "holderName"), "李四"),
        (("credentialSubject", "holderCode"), "91330105MA2YYYYY0Y"),
        (("credentialSubject", "licence", "fields", "经营场所"), "杭州市西湖区某某路 2 号"),
        (("validUntil",), "2099-12-31T23:59:59+08:00"),
        (("credentialStatus", 0, "statusListIndex"), "43"),
        (("issuer", "name"), "某某市公安局"),
        (("trustLevel",), "B"),
    ],
)
def test_forged(path: tuple[Any, ...], value: Any, ring: KeyRing, lists: dict[str, StatusList]) -> None:
    document = issue(ring)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    verdict = verify_licence(document, ring, lists, TODAY)
    assert verdict.kind is VerdictKind.FORGED
    assert "篡改" in verdict.reason


def test_unknown_issuer(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    stranger = KeyRing()
    stranger.add_signer(Ed25519Signer.generate(f"{ISSUER.id}#stolen-name"))
    verdict = verify_licence(issue(stranger), ring, lists, TODAY)
    assert verdict.kind is VerdictKind.UNKNOWN_ISSUER and "签发机关未知" in verdict.reason


def test_key_of_another_authority_is_forged(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    other = Ed25519Signer.generate("https://zwfw.example.gov.cn/issuers/330100-ga#key-1")
    ring.add_signer(other, current=False)
    document = add_proof(unsigned(), other, NOW)  # a trusted key, but not this issuer's
    verdict = verify_licence(document, ring, lists, TODAY)
    assert verdict.kind is VerdictKind.FORGED and verdict.field == "issuer"


def test_rotated_keys_keep_old_licences_valid(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    old_document = issue(ring)
    ring.add_signer(Ed25519Signer.generate(f"{ISSUER.id}#key-2027"))
    new_document = issue(ring)
    assert new_document["proof"]["verificationMethod"].endswith("#key-2027")
    assert verify_licence(old_document, ring, lists, TODAY).valid
    assert verify_licence(new_document, ring, lists, TODAY).valid


def test_status_unavailable(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    document = issue(ring)
    del lists[SUSPENSION_URL]
    verdict = verify_licence(document, ring, lists, TODAY)
    assert verdict.kind is VerdictKind.STATUS_UNAVAILABLE
    assert verdict.field == "credentialStatus[1].statusListCredential"
    lists[SUSPENSION_URL] = StatusList(
        purpose=StatusPurpose.SUSPENSION, issuer="https://other.example/issuer"
    )
    assert verify_licence(document, ring, lists, TODAY).kind is VerdictKind.STATUS_UNAVAILABLE


def test_index_outside_the_list_is_malformed(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    verdict = verify_licence(issue(ring, index=200_000), ring, lists, TODAY)
    assert verdict.kind is VerdictKind.MALFORMED
    assert verdict.field == "credentialStatus[0].statusListIndex"


def _delete(document: dict[str, Any], path: tuple[Any, ...]) -> None:
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: _delete(d, ("@context",)), "@context"),
        (lambda d: d.__setitem__("type", "VerifiableCredential"), "type"),
        (lambda d: d.__setitem__("id", "urn:uuid:1234"), "id"),
        (lambda d: d.__setitem__("id", d["id"][:-1] + "Z"), "id"),
        (lambda d: _delete(d, ("issuer",)), "issuer"),
        (lambda d: d["issuer"].__setitem__("id", 5), "issuer.id"),
        (lambda d: d.__setitem__("validFrom", "2026-13-01"), "validFrom"),
        (lambda d: d.__setitem__("validUntil", "2026-11-22T00:00:00"), "validUntil"),
        (lambda d: d.__setitem__("validUntil", "2020-01-01T00:00:00Z"), "validUntil"),
        (lambda d: _delete(d, ("credentialSubject",)), "credentialSubject"),
        (lambda d: _delete(d, ("credentialSubject", "holderName")), "credentialSubject.holderName"),
        (
            lambda d: d["credentialSubject"].__setitem__("holderCodeType", "999"),
            "credentialSubject.holderCodeType",
        ),
        (
            lambda d: d["credentialStatus"][1].__setitem__("type", "StatusList2021Entry"),
            "credentialStatus[1]",
        ),
        (
            lambda d: d["credentialStatus"][0].__setitem__("statusListIndex", "-1"),
            "credentialStatus[0].statusListIndex",
        ),
        (
            lambda d: d["credentialStatus"][0].__setitem__("statusPurpose", "refresh"),
            "credentialStatus[0].statusPurpose",
        ),
        (lambda d: _delete(d, ("proof",)), "proof"),
        (lambda d: d["proof"].__setitem__("proofValue", "not-base58"), "proof.proofValue"),
        (lambda d: d["proof"].__setitem__("cryptosuite", "ecdsa-jcs-2019"), "proof.cryptosuite"),
    ],
)
def test_malformed_names_the_field(
    mutate: Any, field: str, ring: KeyRing, lists: dict[str, StatusList]
) -> None:
    document = copy.deepcopy(issue(ring))
    mutate(document)
    verdict = verify_licence(document, ring, lists, TODAY)
    assert verdict.kind is VerdictKind.MALFORMED
    assert verdict.field == field
    assert verdict.reason.startswith(("凭证格式错误", "签名格式错误"))


@pytest.mark.parametrize("document", [None, [], "text", 42])
def test_not_an_object_is_malformed(document: Any, ring: KeyRing) -> None:
    verdict = verify_licence(document, ring, {}, TODAY)
    assert verdict.kind is VerdictKind.MALFORMED and verdict.field == "$"


def test_signed_status_list_credential_round_trip(ring: KeyRing) -> None:
    revocation = StatusList()
    revocation.set(42)
    published = ring.sign(status_list_credential(REVOCATION_URL, ISSUER.id, revocation, NOW), NOW)
    loaded = load_status_list(json.loads(json.dumps(published)), ring)
    assert loaded.get(42) and loaded.issuer == ISSUER.id
    suspension = ring.sign(
        status_list_credential(SUSPENSION_URL, ISSUER.id, StatusList(purpose="suspension"), NOW), NOW
    )
    lists = {REVOCATION_URL: loaded, SUSPENSION_URL: load_status_list(suspension, ring)}
    assert verify_licence(issue(ring), ring, lists, TODAY).kind is VerdictKind.REVOKED

    tampered = copy.deepcopy(published)
    tampered["credentialSubject"]["encodedList"] = StatusList().encoded_list  # un-revoke everyone
    with pytest.raises(StatusListError, match="签名无效"):
        load_status_list(tampered, ring)


def test_allocated_indexes_feed_the_credential(ring: KeyRing, lists: dict[str, StatusList]) -> None:
    allocator = IndexAllocator()
    first, second = allocator.next_free(), allocator.next_free()
    a, b = issue(ring, index=first), issue(ring, index=second)
    lists[REVOCATION_URL].set(second)
    assert verify_licence(a, ring, lists, TODAY).valid
    assert verify_licence(b, ring, lists, TODAY).kind is VerdictKind.REVOKED
