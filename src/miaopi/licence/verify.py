"""Verifying a presented licence credential: one verdict with a plain Chinese reason.

Order of checks (the first failing one decides): structure (``malformed``, naming the field) →
issuer key (``unknown_issuer``) → signature, its suite matching the key's type (an ``sm2-jcs-2026``
proof naming an Ed25519 key, or the reverse) and key ownership (``forged``; ``status_unavailable`` when
this installation lacks the optional SM2 library) → status lists
(``status_unavailable`` when a referenced list is not at hand, then ``revoked``, ``suspended``) →
validity period (``expired``, ``not_yet_valid``) → ``valid``. Fails closed: anything that cannot be
confirmed is not ``valid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from miaopi.identity.errors import IdentifierError
from miaopi.licence.credential import BEIJING, URN_PREFIX, VC_CONTEXT, HolderCodeType
from miaopi.licence.identifier import parse_identifier
from miaopi.licence.signing import KeyRing, ProofStatus, verify_proof
from miaopi.licence.status import StatusList, StatusListError, StatusPurpose

__all__ = ["Verdict", "VerdictKind", "load_status_list", "verify_licence"]


class VerdictKind(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    FORGED = "forged"
    UNKNOWN_ISSUER = "unknown_issuer"
    STATUS_UNAVAILABLE = "status_unavailable"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    reason: str
    field: str | None = None
    identifier: str | None = None
    verification_method: str | None = None

    @property
    def valid(self) -> bool:
        return self.kind is VerdictKind.VALID


class _Malformed(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _require_str(container: Mapping[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Malformed(path, f"缺少字段 {path} 或其不是非空文本")
    return value


def _parse_datetime(text: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Malformed(path, f"字段 {path} 不是合法的日期时间：“{text}”") from None
    if moment.tzinfo is None:
        raise _Malformed(path, f"字段 {path} 缺少时区：“{text}”")
    return moment


@dataclass(frozen=True, slots=True)
class _Entry:
    purpose: StatusPurpose
    index: int
    list_url: str


@dataclass(frozen=True, slots=True)
class _Parsed:
    identifier: str
    issuer_id: str
    valid_from: datetime
    valid_until: datetime | None
    status: tuple[_Entry, ...]


def _check_structure(document: Any) -> _Parsed:
    if not isinstance(document, Mapping):
        raise _Malformed("$", "凭证不是 JSON 对象")
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise _Malformed("@context", f"字段 @context 须为列表且第一项为 {VC_CONTEXT}")
    types = document.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise _Malformed("type", "字段 type 须为列表且包含 VerifiableCredential")
    credential_id = _require_str(document, "id", "id")
    if not credential_id.startswith(URN_PREFIX):
        raise _Malformed("id", f"字段 id 须以“{URN_PREFIX}”开头")
    try:
        identifier = str(parse_identifier(credential_id[len(URN_PREFIX) :]))
    except IdentifierError as error:
        raise _Malformed("id", f"证照标识无效：{error.message}") from None
    issuer = document.get("issuer")
    if isinstance(issuer, str):
        issuer_id = issuer
    elif isinstance(issuer, Mapping):
        issuer_id = _require_str(issuer, "id", "issuer.id")
    else:
        raise _Malformed("issuer", "缺少字段 issuer（签发机关）")
    valid_from = _parse_datetime(_require_str(document, "validFrom", "validFrom"), "validFrom")
    valid_until = None
    if "validUntil" in document:
        valid_until = _parse_datetime(_require_str(document, "validUntil", "validUntil"), "validUntil")
        if valid_until < valid_from:
            raise _Malformed("validUntil", "有效期截止（validUntil）早于起始（validFrom）")
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise _Malformed("credentialSubject", "缺少字段 credentialSubject（持证主体）或其不是对象")
    _require_str(subject, "holderCode", "credentialSubject.holderCode")
    code_type = _require_str(subject, "holderCodeType", "credentialSubject.holderCodeType")
    if code_type not in {kind.value for kind in HolderCodeType}:
        raise _Malformed(
            "credentialSubject.holderCodeType", f"持证主体代码类型须为 111 或 001，收到“{code_type}”"
        )
    _require_str(subject, "holderName", "credentialSubject.holderName")
    return _Parsed(identifier, issuer_id, valid_from, valid_until, _status_entries(document))


_PURPOSES = {purpose.value: purpose for purpose in StatusPurpose}


def _status_entries(document: Mapping[str, Any]) -> tuple[_Entry, ...]:
    raw = document.get("credentialStatus")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    entries = []
    for position, item in enumerate(items):
        path = f"credentialStatus[{position}]"
        if not isinstance(item, Mapping) or item.get("type") != "BitstringStatusListEntry":
            raise _Malformed(path, f"{path} 须为 BitstringStatusListEntry 对象")
        purpose_text = item.get("statusPurpose")
        purpose = _PURPOSES.get(purpose_text) if isinstance(purpose_text, str) else None
        if purpose is None:
            raise _Malformed(f"{path}.statusPurpose", f"不支持的状态用途：“{purpose_text}”")
        index_text = item.get("statusListIndex")
        if not isinstance(index_text, str) or not index_text.isascii() or not index_text.isdigit():
            raise _Malformed(f"{path}.statusListIndex", f"状态索引须为十进制数字文本，收到“{index_text}”")
        list_url = _require_str(item, "statusListCredential", f"{path}.statusListCredential")
        entries.append(_Entry(purpose, int(index_text), list_url))
    return tuple(entries)


def _on_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def verify_licence(
    document: Any,
    key_ring: KeyRing,
    status_lists: Mapping[str, StatusList],
    today: date | datetime,
) -> Verdict:
    """Verdict on a presented licence credential.

    ``status_lists`` maps a ``statusListCredential`` URL to its decoded list (see
    :func:`load_status_list`); ``today`` is a Beijing-time date, or an aware instant for an exact check.
    """
    try:
        parsed = _check_structure(document)
    except _Malformed as error:
        return Verdict(VerdictKind.MALFORMED, f"凭证格式错误：{error.reason}", error.field)
    identifier = parsed.identifier

    proof = verify_proof(document, key_ring.resolve)
    method = proof.verification_method
    if proof.status is ProofStatus.MALFORMED:
        return Verdict(
            VerdictKind.MALFORMED, f"签名格式错误：{proof.reason}", proof.field, identifier, method
        )
    if proof.status is ProofStatus.UNKNOWN_KEY:
        return Verdict(
            VerdictKind.UNKNOWN_ISSUER,
            f"签发机关未知：签名密钥 {method} 不在受信任的密钥列表中",
            "proof.verificationMethod",
            identifier,
            method,
        )
    if proof.status is ProofStatus.KEY_MISMATCH:
        return Verdict(VerdictKind.FORGED, proof.reason, proof.field, identifier, method)
    if proof.status is ProofStatus.UNSUPPORTED:
        return Verdict(
            VerdictKind.STATUS_UNAVAILABLE, f"暂不能核验：{proof.reason}", proof.field, identifier, method
        )
    if proof.status is ProofStatus.INVALID_SIGNATURE:
        return Verdict(
            VerdictKind.FORGED, "签名与内容不符：证照内容被篡改或并非该机关签发", None, identifier, method
        )
    if method is None or key_ring.controller_of(method) != parsed.issuer_id:
        return Verdict(
            VerdictKind.FORGED,
            f"签名密钥不属于凭证所写的签发机关（{parsed.issuer_id}）",
            "issuer",
            identifier,
            method,
        )

    flagged: set[StatusPurpose] = set()
    for position, entry in enumerate(parsed.status):
        status_list = status_lists.get(entry.list_url)
        if (
            status_list is None
            or status_list.purpose is not entry.purpose
            or (status_list.issuer is not None and status_list.issuer != parsed.issuer_id)
        ):
            return Verdict(
                VerdictKind.STATUS_UNAVAILABLE,
                f"无法获取状态列表 {entry.list_url}，暂不能确认证照是否已被吊销或中止",
                f"credentialStatus[{position}].statusListCredential",
                identifier,
                method,
            )
        try:
            if status_list.get(entry.index):
                flagged.add(entry.purpose)
        except StatusListError as error:
            return Verdict(
                VerdictKind.MALFORMED,
                f"凭证格式错误：{error}",
                f"credentialStatus[{position}].statusListIndex",
                identifier,
                method,
            )
    if StatusPurpose.REVOCATION in flagged:
        return Verdict(VerdictKind.REVOKED, "该证照已被签发机关吊销（注销）", None, identifier, method)
    if StatusPurpose.SUSPENSION in flagged:
        return Verdict(VerdictKind.SUSPENDED, "该证照已被签发机关暂停使用", None, identifier, method)

    if isinstance(today, datetime):
        if today.tzinfo is None:
            raise ValueError("today 为时间时必须带时区")
        expired = parsed.valid_until is not None and today > parsed.valid_until
        early = today < parsed.valid_from
    else:
        expired = parsed.valid_until is not None and today > _on_day(parsed.valid_until)
        early = today < _on_day(parsed.valid_from)
    if expired and parsed.valid_until is not None:
        until = _on_day(parsed.valid_until).isoformat()
        return Verdict(VerdictKind.EXPIRED, f"该证照已于 {until} 过期", "validUntil", identifier, method)
    if early:
        start = _on_day(parsed.valid_from).isoformat()
        return Verdict(
            VerdictKind.NOT_YET_VALID, f"该证照自 {start} 起才生效", "validFrom", identifier, method
        )
    return Verdict(VerdictKind.VALID, "证照真实有效", None, identifier, method)


def load_status_list(document: Any, key_ring: KeyRing) -> StatusList:
    """Check a fetched BitstringStatusListCredential's signature and issuer, then decode it."""
    result = verify_proof(document, key_ring.resolve)
    if not result.verified:
        raise StatusListError(f"状态列表凭证签名无效：{result.reason}")
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if result.verification_method is None or key_ring.controller_of(result.verification_method) != issuer_id:
        raise StatusListError("状态列表凭证的签名密钥不属于其签发机关")
    return StatusList.from_credential(document)
