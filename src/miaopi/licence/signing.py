"""Signing: the :class:`Signer` interface, Ed25519, the Data Integrity cryptosuite ``eddsa-jcs-2022``
and a :class:`KeyRing` of issuer keys (rotation).

``eddsa-jcs-2022`` (W3C Data Integrity EdDSA Cryptosuites v1.0):

1. proof options = ``type``, ``cryptosuite``, ``created``, ``verificationMethod``, ``proofPurpose``
   and the document's ``@context``;
2. hashData = SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document without ``proof``));
3. proofValue = ``"z"`` + base58-btc(Ed25519 signature over hashData).

Public keys are Multikey: ``"z"`` + base58-btc(0xed 0x01 ‖ 32-byte key), i.e. ``z6Mk…``; private keys
``"z"`` + base58-btc(0x80 0x26 ‖ 32-byte seed).

The optional 国密 alternative, Miaopi's own (not W3C-registered) suite ``sm2-jcs-2026`` — the same
scheme with SM3 and SM2 — is in :mod:`miaopi.licence.sm2`. A proof is checked with the algorithm its
``cryptosuite`` names, and only against a key of that type.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from miaopi.licence.jcs import CanonicalisationError, canonicalize

__all__ = [
    "CRYPTOSUITE",
    "CRYPTOSUITES",
    "PROOF_TYPE",
    "SM2_CRYPTOSUITE",
    "AlgorithmUnavailable",
    "Ed25519Signer",
    "Ed25519VerificationKey",
    "KeyRing",
    "ProofStatus",
    "Signer",
    "VerificationKey",
    "VerificationResult",
    "add_proof",
    "base58btc_decode",
    "base58btc_encode",
    "format_datetime",
    "hash_data",
    "hash_data_sm3",
    "sm3_digest",
    "verification_key_from_multibase",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
SM2_CRYPTOSUITE = "sm2-jcs-2026"  # Miaopi's own, not W3C-registered: see miaopi.licence.sm2
CRYPTOSUITES = (CRYPTOSUITE, SM2_CRYPTOSUITE)
ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"

# ---------------------------------------------------------------------------------------------
# multibase base58-btc

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58)}
# Pairs of digits (58**2 = 3364 entries) and 10-digit chunks keep the big-integer work small.
_PAIRS = [a + b for a in _B58 for b in _B58]
_PAIR_INDEX = {pair: index for index, pair in enumerate(_PAIRS)}
_CHUNK = 58**10


def base58btc_encode(data: bytes) -> str:
    """Bitcoin base58 (no check); leading zero bytes become leading ``1``."""
    number = int.from_bytes(data, "big")
    chunks: list[str] = []
    while number:
        number, chunk = divmod(number, _CHUNK)
        c4, p5 = divmod(chunk, 3364)
        c3, p4 = divmod(c4, 3364)
        c2, p3 = divmod(c3, 3364)
        p1, p2 = divmod(c2, 3364)
        chunks.append(_PAIRS[p1] + _PAIRS[p2] + _PAIRS[p3] + _PAIRS[p4] + _PAIRS[p5])
    text = "".join(reversed(chunks)).lstrip("1")
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + text


def base58btc_decode(text: str) -> bytes:
    head = len(text) % 10
    padded = "1" * ((10 - head) % 10) + text  # leading "1" digits are zeros
    number = 0
    try:
        for start in range(0, len(padded), 10):
            chunk = padded[start : start + 10]
            index = _PAIR_INDEX
            number = number * _CHUNK + (
                (
                    ((index[chunk[0:2]] * 3364 + index[chunk[2:4]]) * 3364 + index[chunk[4:6]]) * 3364
                    + index[chunk[6:8]]
                )
                * 3364
                + index[chunk[8:10]]
            )
    except KeyError:
        bad = next(char for char in text if char not in _B58_INDEX)
        raise ValueError(f"base58 字符“{bad}”无效") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _multibase_decode(value: str, header: bytes, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError(f"{what}须为 multibase base58-btc 编码（以“z”开头）")
    raw = base58btc_decode(value[1:])
    if not raw.startswith(header) or len(raw) != len(header) + 32:
        raise ValueError(f"{what}的 multicodec 头或长度不符（应为 0x{header.hex()} + 32 字节）")
    return raw[len(header) :]


# ---------------------------------------------------------------------------------------------
# SM3 (GB/T 32905) for sm2-jcs-2026


class AlgorithmUnavailable(RuntimeError):
    """An optional algorithm (SM2) whose library is not installed; the message says what to install."""


def _sm3_gmssl(data: bytes) -> bytes:
    try:
        from gmssl import sm3
    except ImportError:
        raise AlgorithmUnavailable(
            "当前 OpenSSL 不提供 SM3，且未安装国密算法库 gmssl：请安装 pip install 'miaopi[sm]'"
        ) from None
    return bytes.fromhex(sm3.sm3_hash(list(data)))


def _sm3_openssl(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


try:
    _sm3_openssl(b"")
    sm3_digest: Callable[[bytes], bytes] = _sm3_openssl
except UnsupportedAlgorithm:  # pragma: no cover - an OpenSSL built without SM3
    sm3_digest = _sm3_gmssl


# ---------------------------------------------------------------------------------------------
# keys


class VerificationKey(ABC):
    """A public key that can check signatures. ``cryptosuite``: the only Data Integrity suite whose
    proofs this key may verify (a proof naming another suite is refused, whatever its signature)."""

    key_id: str
    algorithm: str
    cryptosuite: str

    @abstractmethod
    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when ``signature`` is valid for ``data``."""

    @property
    @abstractmethod
    def public_key_multibase(self) -> str:
        """The public key as a Multikey ``publicKeyMultibase`` value."""

    def verification_method(self) -> dict[str, str]:
        """The key as a verification method (Multikey) for the issuer's controller document."""
        return {
            "id": self.key_id,
            "type": "Multikey",
            "controller": self.key_id.split("#", 1)[0],
            "publicKeyMultibase": self.public_key_multibase,
        }


class Signer(VerificationKey):
    """A private key identified by ``key_id`` (a verification method URL: ``<controller>#<fragment>``)."""

    @abstractmethod
    def sign(self, data: bytes) -> bytes:
        """Signature over ``data``."""

    @abstractmethod
    def public_key(self) -> VerificationKey:
        """The matching verify-only key, for publication."""

    @property
    def public_key_multibase(self) -> str:
        return self.public_key().public_key_multibase

    def verify(self, signature: bytes, data: bytes) -> bool:
        return self.public_key().verify(signature, data)


class Ed25519VerificationKey(VerificationKey):
    algorithm = "Ed25519"
    cryptosuite = CRYPTOSUITE

    def __init__(self, key_id: str, public_key: Ed25519PublicKey) -> None:
        self.key_id = key_id
        self._key = public_key

    @classmethod
    def from_multibase(cls, key_id: str, public_key_multibase: str) -> Ed25519VerificationKey:
        raw = _multibase_decode(public_key_multibase, ED25519_PUB_HEADER, "Ed25519 公钥")
        return cls(key_id, Ed25519PublicKey.from_public_bytes(raw))

    @property
    def public_key_multibase(self) -> str:
        raw = self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "z" + base58btc_encode(ED25519_PUB_HEADER + raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer(Signer):
    algorithm = "Ed25519"
    cryptosuite = CRYPTOSUITE

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.key_id = key_id
        self._key = private_key
        self._public = Ed25519VerificationKey(key_id, private_key.public_key())

    @classmethod
    def generate(cls, key_id: str) -> Ed25519Signer:
        return cls(key_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_multibase(cls, key_id: str, private_key_multibase: str) -> Ed25519Signer:
        seed = _multibase_decode(private_key_multibase, ED25519_PRIV_HEADER, "Ed25519 私钥")
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def private_key_multibase(self) -> str:
        raw = self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return "z" + base58btc_encode(ED25519_PRIV_HEADER + raw)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key(self) -> Ed25519VerificationKey:
        return self._public


# ---------------------------------------------------------------------------------------------
# eddsa-jcs-2022

_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def format_datetime(moment: datetime) -> str:
    """XML Schema dateTime in UTC with second precision, e.g. ``2026-11-22T22:00:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("时间必须带时区")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hash_data(proof_options: Mapping[str, Any], unsecured_document: Mapping[str, Any]) -> bytes:
    """SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document without proof)): the 64 bytes signed."""
    return (
        hashlib.sha256(canonicalize(proof_options)).digest()
        + hashlib.sha256(canonicalize(unsecured_document)).digest()
    )


def hash_data_sm3(proof_options: Mapping[str, Any], unsecured_document: Mapping[str, Any]) -> bytes:
    """SM3(JCS(proof options)) ‖ SM3(JCS(document without proof)): the 64 bytes ``sm2-jcs-2026`` signs."""
    return sm3_digest(canonicalize(proof_options)) + sm3_digest(canonicalize(unsecured_document))


def add_proof(
    document: Mapping[str, Any],
    signer: Signer,
    created: datetime | str,
    verification_method: str | None = None,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of ``document`` with a DataIntegrityProof of the signer's suite added (``eddsa-jcs-2022``
    for Ed25519, ``sm2-jcs-2026`` for SM2).

    ``document`` must not carry a proof already (proof sets and chains are not supported)."""
    if "proof" in document:
        raise ValueError("文档已带有签名（proof），不能重复签名")
    unsecured = dict(document)
    suite = signer.cryptosuite
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": suite,
        "created": created if isinstance(created, str) else format_datetime(created),
        "verificationMethod": verification_method or signer.key_id,
        "proofPurpose": proof_purpose,
    }
    if "@context" in unsecured:
        options["@context"] = unsecured["@context"]
    data = hash_data(options, unsecured) if suite == CRYPTOSUITE else hash_data_sm3(options, unsecured)
    signature = signer.sign(data)
    options["proofValue"] = "z" + base58btc_encode(signature)
    unsecured["proof"] = options
    return unsecured


class ProofStatus(StrEnum):
    VERIFIED = "verified"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    INVALID_SIGNATURE = "invalid_signature"
    KEY_MISMATCH = "key_mismatch"  # the proof's suite is not the named key's (e.g. sm2 proof, Ed25519 key)
    UNSUPPORTED = "unsupported"  # the suite's optional library is not installed here


@dataclass(frozen=True, slots=True)
class VerificationResult:
    status: ProofStatus
    reason: str
    verification_method: str | None = None
    field: str | None = None

    @property
    def verified(self) -> bool:
        return self.status is ProofStatus.VERIFIED

    def __bool__(self) -> bool:
        return self.verified


def _malformed(field: str, reason: str, method: str | None = None) -> VerificationResult:
    return VerificationResult(ProofStatus.MALFORMED, reason, method, field)


def verify_proof(
    document: Mapping[str, Any],
    resolve_key: Callable[[str], VerificationKey | None],
    expected_purpose: str = "assertionMethod",
) -> VerificationResult:
    """Check the document's ``eddsa-jcs-2022`` or ``sm2-jcs-2026`` proof; ``resolve_key`` maps a
    verification method id to its public key (``None`` when unknown). The algorithm is the one the
    proof's ``cryptosuite`` names, and the key must be of that type."""
    if not isinstance(document, Mapping):
        return _malformed("$", "文档不是 JSON 对象")
    proof = document.get("proof")
    if proof is None:
        return _malformed("proof", "缺少签名（proof）")
    if not isinstance(proof, Mapping):
        return _malformed("proof", "签名（proof）须为单个 JSON 对象")
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method:
        return _malformed("proof.verificationMethod", "签名缺少验证方法（verificationMethod）")
    if proof.get("type") != PROOF_TYPE:
        return _malformed("proof.type", f"签名类型须为 {PROOF_TYPE}", method)
    suite = proof.get("cryptosuite")
    if suite != CRYPTOSUITE and suite != SM2_CRYPTOSUITE:
        return _malformed(
            "proof.cryptosuite", f"不支持的签名套件：{suite!r}（支持 {'、'.join(CRYPTOSUITES)}）", method
        )
    if proof.get("proofPurpose") != expected_purpose:
        return _malformed("proof.proofPurpose", f"签名用途须为 {expected_purpose}", method)
    created = proof.get("created")
    if created is not None and (not isinstance(created, str) or not _DATETIME.match(created)):
        return _malformed("proof.created", "签名时间（created）不是合法的日期时间", method)
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        return _malformed("proof.proofValue", "签名值（proofValue）须为以“z”开头的 base58-btc 文本", method)
    try:
        signature = base58btc_decode(proof_value[1:])
    except ValueError:
        return _malformed("proof.proofValue", "签名值（proofValue）含有非 base58 字符", method)
    if len(signature) != 64:
        return _malformed("proof.proofValue", f"签名值长度应为 64 字节，实为 {len(signature)} 字节", method)
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        proof_context = options["@context"]
        doc_context = unsecured.get("@context")
        if not isinstance(proof_context, list) or not isinstance(doc_context, list):
            return _malformed("proof.@context", "签名与文档的 @context 须为列表", method)
        if doc_context[: len(proof_context)] != proof_context:
            return _malformed("proof.@context", "签名的 @context 与文档的 @context 不一致", method)
    key = resolve_key(method)
    if key is None:
        return VerificationResult(ProofStatus.UNKNOWN_KEY, f"未知的签发密钥：{method}", method)
    if key.cryptosuite != suite:
        return VerificationResult(
            ProofStatus.KEY_MISMATCH,
            f"签名套件 {suite} 与签发密钥的类型不符：{method} 是 {key.algorithm} 密钥，只能核验 {key.cryptosuite} 签名",
            method,
            "proof.cryptosuite",
        )
    try:
        data = hash_data(options, unsecured) if suite == CRYPTOSUITE else hash_data_sm3(options, unsecured)
        valid = key.verify(signature, data)
    except CanonicalisationError as error:
        return _malformed("$", f"文档无法规范化：{error}", method)
    except AlgorithmUnavailable as error:
        return VerificationResult(ProofStatus.UNSUPPORTED, str(error), method, "proof.cryptosuite")
    if not valid:
        return VerificationResult(
            ProofStatus.INVALID_SIGNATURE, "签名与内容不符：文档已被篡改或并非此密钥签发", method
        )
    return VerificationResult(ProofStatus.VERIFIED, "签名有效", method)


# ---------------------------------------------------------------------------------------------
# key ring


class KeyRing:
    """Issuer keys over time: sign with the current key, verify with any key ever published.

    A key's controller (the issuer id) is the part of its ``key_id`` before ``#``.
    """

    def __init__(self) -> None:
        self._keys: dict[str, VerificationKey] = {}
        self._current: Signer | None = None

    def add_signer(self, signer: Signer, *, current: bool = True) -> None:
        """Publish ``signer``'s public key; with ``current`` it signs from now on (rotation)."""
        self._keys[signer.key_id] = signer.public_key()
        if current:
            self._current = signer

    def publish(self, key: VerificationKey) -> None:
        """Add a verify-only key (an earlier key whose private half is retired or held elsewhere)."""
        self._keys[key.key_id] = key

    @property
    def current(self) -> Signer:
        if self._current is None:
            raise LookupError("密钥环中没有可用于签名的当前密钥")
        return self._current

    def resolve(self, key_id: str) -> VerificationKey | None:
        return self._keys.get(key_id)

    def controller_of(self, key_id: str) -> str | None:
        return key_id.split("#", 1)[0] if key_id in self._keys else None

    def key_ids(self) -> list[str]:
        return list(self._keys)

    def sign(self, document: Mapping[str, Any], created: datetime | str) -> dict[str, Any]:
        return add_proof(document, self.current, created)

    def controller_document(self, controller: str) -> dict[str, Any]:
        """The public keys of one issuer as a controller document (to publish at the issuer's URL or
        as a ``did:web`` document): every key ever used stays listed so old licences keep verifying."""
        methods = [
            key.verification_method()
            for key_id, key in self._keys.items()
            if key_id.split("#", 1)[0] == controller
        ]
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": controller,
            "verificationMethod": methods,
            "assertionMethod": [method["id"] for method in methods],
        }

    def trust_controller_document(self, document: Mapping[str, Any]) -> list[str]:
        """Add the Multikey keys (Ed25519 or SM2) of a controller document obtained over a trusted channel;
        only keys whose id and controller belong to the document's ``id`` are taken. Returns their ids."""
        controller = document.get("id")
        if not isinstance(controller, str) or not controller:
            raise ValueError("控制者文档缺少 id")
        methods = document.get("verificationMethod")
        if not isinstance(methods, list):
            raise ValueError("控制者文档缺少 verificationMethod 列表")
        added = []
        for method in methods:
            if not isinstance(method, Mapping) or method.get("type") != "Multikey":
                continue
            key_id = method.get("id")
            if (
                not isinstance(key_id, str)
                or key_id.split("#", 1)[0] != controller
                or method.get("controller") != controller
            ):
                raise ValueError(f"验证方法 {key_id!r} 不属于控制者 {controller}")
            self.publish(verification_key_from_multibase(key_id, method.get("publicKeyMultibase", "")))
            added.append(key_id)
        return added

    def verify(self, document: Mapping[str, Any]) -> VerificationResult:
        return verify_proof(document, self.resolve)


def verification_key_from_multibase(key_id: str, public_key_multibase: str) -> VerificationKey:
    """An Ed25519 (``0xed 0x01``) or SM2 (``sm2-pub``, ``0x86 0x24``) Multikey public key."""
    if not isinstance(public_key_multibase, str) or not public_key_multibase.startswith("z"):
        raise ValueError("公钥须为 multibase base58-btc 编码（以“z”开头）")
    raw = base58btc_decode(public_key_multibase[1:])
    if raw.startswith(ED25519_PUB_HEADER):
        return Ed25519VerificationKey.from_multibase(key_id, public_key_multibase)
    from miaopi.licence.sm2 import SM2_PUB_HEADER, SM2VerificationKey

    if raw.startswith(SM2_PUB_HEADER):
        return SM2VerificationKey.from_multibase(key_id, public_key_multibase)
    raise ValueError(f"不支持的公钥类型（multicodec 头 0x{raw[:2].hex()}）：只支持 Ed25519 与 SM2")
