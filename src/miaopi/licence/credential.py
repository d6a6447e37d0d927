"""A licence as a W3C Verifiable Credential 2.0 document (unsigned; :mod:`miaopi.licence.signing`
adds the proof).

Choices:

* ``id`` is ``urn:gbt36904:<licence identifier>``. ``urn:oid:`` would be wrong: OID arcs are
  numbers, while GB/T 36904 identifiers carry letters (``…13338W011…``). The namespace is not an
  IANA-registered URN namespace; it is only a stable, self-describing URI for the identifier, and
  :func:`identifier_from_id` reverses it.
* Only the VC 2.0 base ``@context`` is used: its ``@vocab`` covers the licence-specific terms
  (``holderCode`` …), and ``eddsa-jcs-2022`` needs no JSON-LD processing.
* ``issuer`` is an object: ``id`` (a URL or DID; key ids are ``<issuer id>#<fragment>``), ``name``
  and ``issuerCode`` (the authority's unified social credit code or issuer code in the identifier).
* Dates given as :class:`~datetime.date` are whole days in Beijing time: ``validFrom`` at
  00:00:00+08:00 and ``validUntil`` at 23:59:59+08:00.
* ``credentialStatus`` holds one ``BitstringStatusListEntry`` per purpose (revocation, suspension).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any

from miaopi.licence.identifier import parse_identifier
from miaopi.licence.status import StatusPurpose

__all__ = [
    "BEIJING",
    "URN_PREFIX",
    "VC_CONTEXT",
    "HolderCodeType",
    "Issuer",
    "LicenceHolder",
    "StatusReference",
    "TrustLevel",
    "build_credential",
    "format_validity",
    "identifier_from_id",
    "licence_id",
]

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
URN_PREFIX = "urn:gbt36904:"
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class HolderCodeType(StrEnum):
    """GB/T 36903 holder code types."""

    CITIZEN_ID = "111"  # 公民身份号码
    CREDIT_CODE = "001"  # 统一社会信用代码


class TrustLevel(StrEnum):
    """Trust levels of a licence used as evidence (国办函〔2016〕108号)."""

    A = "A"  # 政府部门签发，可直接使用
    B = "B"  # 窗口人员核验，可复用
    C = "C"  # 申请人上传，需核验原件
    D = "D"  # 申请人自制并承诺

    @property
    def description(self) -> str:
        return {
            "A": "由政府部门签发，可直接使用",
            "B": "经窗口工作人员核验，可复用",
            "C": "由申请人上传，须核验原件",
            "D": "由申请人自行制作并作出承诺",
        }[self.value]


@dataclass(frozen=True, slots=True)
class Issuer:
    id: str  # URL or DID of the issuing authority
    name: str  # e.g. 某某市市场监督管理局
    code: str  # issuer code as in the identifier / unified social credit code

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "issuerCode": self.code}


@dataclass(frozen=True, slots=True)
class LicenceHolder:
    code: str  # citizen ID number or unified social credit code
    code_type: HolderCodeType
    name: str


@dataclass(frozen=True, slots=True)
class StatusReference:
    purpose: StatusPurpose
    index: int
    list_credential: str  # URL of the BitstringStatusListCredential

    def as_json(self) -> dict[str, str]:
        return {
            "id": f"{self.list_credential}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": StatusPurpose(self.purpose).value,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_credential,
        }


def licence_id(identifier: str) -> str:
    return URN_PREFIX + identifier


def identifier_from_id(credential_id: str) -> str:
    if not credential_id.startswith(URN_PREFIX):
        raise ValueError(f"凭证 id 须以“{URN_PREFIX}”开头")
    return credential_id[len(URN_PREFIX) :]


def format_validity(moment: date | datetime, *, end_of_day: bool = False) -> str:
    """XML Schema dateTime; a bare date is a Beijing-time day (start, or end with ``end_of_day``)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("时间必须带时区")
        return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    clock = time(23, 59, 59) if end_of_day else time(0, 0, 0)
    return datetime.combine(moment, clock, BEIJING).isoformat(timespec="seconds")


def build_credential(
    *,
    identifier: str,
    licence_type: str,
    licence_name: str,
    issuer: Issuer,
    holder: LicenceHolder,
    valid_from: date | datetime,
    valid_until: date | datetime | None = None,
    licence_fields: Mapping[str, Any] | None = None,
    status: Sequence[StatusReference] = (),
    licence_number: str | None = None,
    jurisdiction_code: str | None = None,
    trust_level: TrustLevel = TrustLevel.A,
) -> dict[str, Any]:
    """The unsigned credential for one licence.

    ``licence_type`` is the credential type name (an ASCII term such as ``BusinessLicence``);
    ``licence_name`` the Chinese licence name; ``licence_fields`` the licence's own content
    (strings, integers, booleans, nested objects/lists), kept under ``credentialSubject.licence``.
    """
    parsed = parse_identifier(identifier)
    if not licence_type.isascii() or not licence_type.isidentifier():
        raise ValueError(f"凭证类型须为 ASCII 标识符（如 BusinessLicence），收到“{licence_type}”")
    code_type = HolderCodeType(holder.code_type)
    subject: dict[str, Any] = {
        "type": "LicenceHolder",
        "holderCode": holder.code,
        "holderCodeType": code_type.value,
        "holderName": holder.name,
        "licence": {
            "identifier": str(parsed),
            "licenceName": licence_name,
            "licenceTypeCode": parsed.type_code,
            "fields": dict(licence_fields or {}),
        },
    }
    if licence_number is not None:
        subject["licence"]["licenceNumber"] = licence_number
    if jurisdiction_code is not None:
        subject["licence"]["jurisdictionCode"] = jurisdiction_code
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": licence_id(str(parsed)),
        "type": ["VerifiableCredential", licence_type],
        "name": licence_name,
        "issuer": issuer.as_json(),
        "validFrom": format_validity(valid_from),
        "credentialSubject": subject,
        "trustLevel": TrustLevel(trust_level).value,
    }
    if valid_until is not None:
        if _as_instant(valid_until, end_of_day=True) < _as_instant(valid_from, end_of_day=False):
            raise ValueError("有效期截止早于起始")
        document["validUntil"] = format_validity(valid_until, end_of_day=True)
    purposes = [StatusPurpose(reference.purpose) for reference in status]
    if len(set(purposes)) != len(purposes):
        raise ValueError("每种状态用途只能有一个状态条目")
    if status:
        document["credentialStatus"] = [reference.as_json() for reference in status]
    return document


def _as_instant(moment: date | datetime, *, end_of_day: bool) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time(23, 59, 59) if end_of_day else time(0), BEIJING)
