"""SM2 (国密) signing behind the :class:`~miaopi.licence.signing.Signer` interface: Miaopi's own
cryptosuite ``sm2-jcs-2026``.

**Not a W3C-registered cryptosuite.** W3C Data Integrity defines no suite for SM2; ``sm2-jcs-2026`` is
Miaopi's, built exactly like ``eddsa-jcs-2022`` with the Chinese commercial algorithms in place of
SHA-256 and Ed25519, so that an issuer required to use 国密 can sign the same W3C VC 2.0 licences:

1. proof options = ``type`` (``DataIntegrityProof``), ``cryptosuite`` (``sm2-jcs-2026``), ``created``,
   ``verificationMethod``, ``proofPurpose`` and the document's ``@context``;
2. hashData = SM3(JCS(proof options)) ‖ SM3(JCS(document without ``proof``)) — 64 bytes;
3. the signature is SM2 (GB/T 32918.2, GM/T 0003.2) over hashData as the message M, with the SM3
   digest e = SM3(Z_A ‖ M), Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) and the default
   user id ``1234567812345678`` (GM/T 0009), on the recommended curve sm2p256v1 (GB/T 32918.5);
4. proofValue = ``"z"`` + base58-btc(r ‖ s), each 32 bytes big-endian (64 bytes, not DER).

Public keys are Multikey with the multicodec ``sm2-pub`` (0x1206, varint ``0x86 0x24``; "SM2 public
key (compressed)" in the multicodec table, status draft) followed by the 33-byte SEC1-compressed point:
``"z"`` + base58-btc(0x86 0x24 ‖ 0x02|0x03 ‖ x), i.e. ``zEP…``-style strings that no Ed25519 key
(``z6Mk…``) can be mistaken for. A verifier picks the algorithm from the proof's ``cryptosuite`` and
refuses a proof whose suite does not match the type of the key it names.

Multicodec has no code for an SM2 private key: the key file stores it as 64 lowercase hex digits.

Curve arithmetic is from the pure-Python ``gmssl`` package (optional: ``pip install 'miaopi[sm]'``);
SM3 comes from ``cryptography`` (OpenSSL) when it offers it, else from ``gmssl``. Nonces come from
:mod:`secrets` — never from ``gmssl``'s own ``random_hex``, which uses the non-cryptographic
:mod:`random`. Without ``gmssl`` everything Ed25519 works unchanged; signing or verifying SM2 raises
:class:`~miaopi.licence.signing.AlgorithmUnavailable` with a Chinese message.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from miaopi.licence.signing import (
    SM2_CRYPTOSUITE,
    AlgorithmUnavailable,
    Signer,
    VerificationKey,
    base58btc_decode,
    base58btc_encode,
    sm3_digest,
)

__all__ = [
    "DEFAULT_USER_ID",
    "SM2_PUB_HEADER",
    "SM2Signer",
    "SM2VerificationKey",
    "sm2_available",
]

# GB/T 32918.5-2017 recommended curve sm2p256v1
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_USER_ID = b"1234567812345678"  # GM/T 0009-2012 default ID_A
SM2_PUB_HEADER = b"\x86\x24"  # varint of multicodec sm2-pub (0x1206)

_INSTALL_HINT = (
    "未安装国密算法库 gmssl，无法使用 SM2 签名（国密）：请安装 pip install 'miaopi[sm]'（gmssl==3.2.2）"
)


@cache
def _gmssl_sm2() -> Any:
    try:
        from gmssl import sm2
    except ImportError:
        raise AlgorithmUnavailable(_INSTALL_HINT) from None
    return sm2


def sm2_available() -> bool:
    """True when the optional ``gmssl`` package is installed."""
    try:
        _gmssl_sm2()
    except AlgorithmUnavailable:
        return False
    return True


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def compress(x: int, y: int) -> bytes:
    return bytes([2 | (y & 1)]) + x.to_bytes(32, "big")


def decompress(point: bytes) -> tuple[int, int]:
    """The affine point of a 33-byte SEC1-compressed encoding; ValueError when it is not on the curve."""
    if len(point) != 33 or point[0] not in (2, 3):
        raise ValueError("SM2 公钥须为 33 字节的压缩点（0x02 或 0x03 开头）")
    x = int.from_bytes(point[1:], "big")
    if x >= P:
        raise ValueError("SM2 公钥的横坐标超出素域")
    y = pow((x * x * x + A * x + B) % P, (P + 1) // 4, P)  # P ≡ 3 (mod 4)
    if (y * y - (x * x * x + A * x + B)) % P:
        raise ValueError("SM2 公钥不在 sm2p256v1 曲线上")
    if (y & 1) != (point[0] & 1):
        y = P - y
    return x, y


def user_hash(x: int, y: int, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5)."""
    if len(user_id) * 8 > 0xFFFF:
        raise ValueError("SM2 用户标识过长")
    return sm3_digest(
        (len(user_id) * 8).to_bytes(2, "big")
        + user_id
        + b"".join(value.to_bytes(32, "big") for value in (A, B, GX, GY, x, y))
    )


def _crypt(private_hex: str, x: int, y: int) -> Any:
    """A ``gmssl`` CryptSM2 on the recommended curve. The public key is set after construction:
    CryptSM2's constructor strips a leading "04" with ``str.lstrip``, which would also eat the leading
    zeros or fours of an x coordinate."""
    crypt = _gmssl_sm2().CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = f"{x:064x}{y:064x}"
    return crypt


class SM2VerificationKey(VerificationKey):
    algorithm = "SM2"
    cryptosuite = SM2_CRYPTOSUITE

    def __init__(self, key_id: str, x: int, y: int, user_id: bytes = DEFAULT_USER_ID) -> None:
        if not _on_curve(x, y):
            raise ValueError("SM2 公钥不在 sm2p256v1 曲线上")
        self.key_id = key_id
        self.x, self.y = x, y
        self._z = user_hash(x, y, user_id)
        self._crypt: Any = None

    @classmethod
    def from_multibase(cls, key_id: str, public_key_multibase: str) -> SM2VerificationKey:
        if not isinstance(public_key_multibase, str) or not public_key_multibase.startswith("z"):
            raise ValueError("SM2 公钥须为 multibase base58-btc 编码（以“z”开头）")
        raw = base58btc_decode(public_key_multibase[1:])
        if not raw.startswith(SM2_PUB_HEADER) or len(raw) != len(SM2_PUB_HEADER) + 33:
            raise ValueError("SM2 公钥的 multicodec 头或长度不符（应为 0x8624 + 33 字节压缩点）")
        return cls(key_id, *decompress(raw[len(SM2_PUB_HEADER) :]))

    @property
    def public_key_multibase(self) -> str:
        return "z" + base58btc_encode(SM2_PUB_HEADER + compress(self.x, self.y))

    def digest(self, data: bytes) -> bytes:
        """e = SM3(Z_A ‖ M): what the SM2 signature signs for the message ``data``."""
        return sm3_digest(self._z + data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < N and 0 < s < N):  # GB/T 32918.2 §7.1 B1, B2
            return False
        if self._crypt is None:
            self._crypt = _crypt("", self.x, self.y)
        try:
            return bool(self._crypt.verify(signature.hex(), self.digest(data)))
        except (TypeError, ValueError):  # a sum at infinity: gmssl returns None for the point
            return False


class SM2Signer(Signer):
    algorithm = "SM2"
    cryptosuite = SM2_CRYPTOSUITE

    def __init__(self, key_id: str, private_key: int, public: tuple[int, int] | None = None) -> None:
        """``public``: the stored public point, so that loading a key file needs no ``gmssl``; it is
        checked against [d]G before the first signature."""
        if not 0 < private_key < N - 1:  # d ∈ [1, n−2]: (1 + d) must be invertible mod n
            raise ValueError("SM2 私钥超出范围 [1, n−2]")
        self.key_id = key_id
        self._d = private_key
        self._crypt: Any = None
        if public is None:
            public = self._derive_public()
        self._public = SM2VerificationKey(key_id, *public)

    def _derive_public(self) -> tuple[int, int]:
        crypt = _crypt(f"{self._d:064x}", 0, 0)
        point = crypt._kg(self._d, f"{GX:064x}{GY:064x}")  # [d]G
        x, y = int(point[:64], 16), int(point[64:], 16)
        crypt.public_key = f"{x:064x}{y:064x}"
        self._crypt = crypt
        return x, y

    def _signing_crypt(self) -> Any:
        if self._crypt is None and self._derive_public() != (self._public.x, self._public.y):
            self._crypt = None
            raise ValueError(f"SM2 密钥 {self.key_id} 的公钥与私钥不匹配")
        return self._crypt

    @classmethod
    def generate(cls, key_id: str) -> SM2Signer:
        _gmssl_sm2()
        return cls(key_id, secrets.randbelow(N - 2) + 1)

    @classmethod
    def from_hex(
        cls, key_id: str, private_key_hex: str, public_key_multibase: str | None = None
    ) -> SM2Signer:
        if not isinstance(private_key_hex, str) or len(private_key_hex) != 64:
            raise ValueError("SM2 私钥须为 64 位十六进制数字")
        try:
            value = int(private_key_hex, 16)
        except ValueError:
            raise ValueError("SM2 私钥须为 64 位十六进制数字") from None
        public = None
        if public_key_multibase is not None:
            stored = SM2VerificationKey.from_multibase(key_id, public_key_multibase)
            public = (stored.x, stored.y)
        return cls(key_id, value, public)

    @property
    def private_key_hex(self) -> str:
        return f"{self._d:064x}"

    def sign(self, data: bytes, nonce: int | None = None) -> bytes:
        """r ‖ s over ``data``; ``nonce`` (k) only for known-answer tests — never pass one otherwise."""
        crypt = self._signing_crypt()
        e = self._public.digest(data)
        while True:
            k = nonce if nonce is not None else secrets.randbelow(N - 1) + 1
            signature = crypt.sign(e, f"{k:064x}")
            if signature is not None:
                return bytes.fromhex(signature)
            if nonce is not None:
                raise ValueError("该随机数 k 不能产生有效签名")

    def public_key(self) -> SM2VerificationKey:
        return self._public
