"""Issuer keys in the data directory: one signing key per issuing authority — Ed25519 by default, or
SM2 (国密, optional ``gmssl``) — rotated on demand.

``<data dir>/keys/licence-keys.json`` (mode 0600, never logged) holds, per issuer code, every key the
issuer ever used: the current one with its private half, earlier ones with their public half only
(a rotated key signs nothing more, but the licences it signed keep verifying). The file also fixes
the public base URL once, at creation: issuer ids, status list URLs and QR codes are built from it
and must not change afterwards.

    {"public_url": "https://…", "default_algorithm": "SM2",
     "issuers": {"<issuer code>": [{"id": "key-1", "created": "…", "public": "z6Mk…", "private": "z3u2…"},
                                   {"id": "key-2", "algorithm": "SM2", "created": "…",
                                    "public": "zEP…", "private": "<64 hex digits>"}, …]}}

A key without ``algorithm`` is Ed25519 (files written before SM2 existed). ``default_algorithm``
(absent: Ed25519) is the algorithm of keys created for issuers that have none yet; it is set by a
rotation of every issuer with an explicit algorithm (``miaopi licence rotate-key --algorithm sm2``).
A rotation without an algorithm keeps the issuer's current one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from miaopi.licence.signing import (
    AlgorithmUnavailable,
    Ed25519Signer,
    Ed25519VerificationKey,
    KeyRing,
    Signer,
    VerificationKey,
)

__all__ = ["ALGORITHMS", "API_PATH", "DEFAULT_PUBLIC_URL", "KeyStore", "normalise_algorithm"]

ED25519 = "Ed25519"
SM2 = "SM2"
ALGORITHMS = (ED25519, SM2)


def normalise_algorithm(name: str) -> str:
    """``ed25519`` / ``sm2`` in any case → ``Ed25519`` / ``SM2``; ValueError otherwise."""
    for algorithm in ALGORITHMS:
        if name.strip().lower() == algorithm.lower():
            return algorithm
    raise ValueError(f"不支持的签名算法“{name}”：可选 ed25519（默认）或 sm2（国密）")


def _algorithm_of(key: dict[str, str]) -> str:
    return key.get("algorithm") or ED25519


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
API_PATH = "/api/v1/licences"


class KeyStore:
    """The issuer keys of one deployment. Re-reads the file when another process (``miaopi licence
    rotate-key``) changed it, so a running server signs with the new key without a restart."""

    def __init__(self, path: Path, public_url: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._ring = KeyRing()
        self._signers: dict[str, Signer] = {}
        self._public_url = (public_url or os.environ.get("MIAOPI_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip(
            "/"
        )

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> KeyStore:
        return cls(data_dir / "keys" / "licence-keys.json")

    # ---- the file ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise writers across processes (several workers may start at once)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"public_url": self._public_url, "issuers": {}}
        document: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return document

    def _write(self, document: dict[str, Any]) -> None:
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(document, stream, ensure_ascii=False, indent=2)
        temporary.replace(self.path)
        self._stamp = None  # reload on next use

    @staticmethod
    def _new_key(number: int, algorithm: str = ED25519) -> dict[str, str]:
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if algorithm == SM2:
            from miaopi.licence.sm2 import SM2Signer

            sm2 = SM2Signer.generate(f"unused#key-{number}")
            return {
                "id": f"key-{number}",
                "algorithm": SM2,
                "created": created,
                "public": sm2.public_key().public_key_multibase,
                "private": sm2.private_key_hex,
            }
        signer = Ed25519Signer.generate(f"unused#key-{number}")
        return {
            "id": f"key-{number}",
            "created": created,
            "public": signer.public_key().public_key_multibase,
            "private": signer.private_key_multibase,
        }

    @staticmethod
    def _check_sm2_usable(issuers: dict[str, list[dict[str, str]]]) -> None:
        """Fail loudly (at start) when an issuer signs with SM2 but the optional library is missing."""
        sm2_issuers = sorted(
            code for code, keys in issuers.items() if keys and _algorithm_of(keys[-1]) == SM2
        )
        if not sm2_issuers:
            return
        from miaopi.licence.sm2 import sm2_available

        if not sm2_available():
            raise AlgorithmUnavailable(
                f"签发机关 {', '.join(sm2_issuers)} 使用 SM2（国密）签名，但未安装国密算法库 gmssl："
                "请安装 pip install 'miaopi[sm]'（gmssl==3.2.2），或用 miaopi licence rotate-key "
                "--algorithm ed25519 换回 Ed25519"
            )

    def ensure(self, issuer_codes: Iterable[str]) -> list[str]:
        """Create the file and a key for every issuer that has none; returns the issuers given a key."""
        codes = sorted(set(issuer_codes))
        with self._lock, self._exclusive():
            document = self._read()
            issuers: dict[str, list[dict[str, str]]] = document.setdefault("issuers", {})
            created = [code for code in codes if not issuers.get(code)]
            algorithm = normalise_algorithm(document.get("default_algorithm") or ED25519)
            for code in created:
                issuers[code] = [self._new_key(1, algorithm)]
            self._check_sm2_usable(issuers)
            if created or not self.path.exists():
                self._write(document)
        return created

    def rotate(
        self, issuer_codes: Iterable[str] | None = None, algorithm: str | None = None
    ) -> dict[str, str]:
        """A new current key for each issuer (all when None); earlier keys keep only their public half.
        ``algorithm`` (``ed25519`` or ``sm2``) switches the issuers to it; None keeps each issuer's
        current algorithm. Rotating every issuer with an explicit algorithm also makes it the default
        for issuers added later. Returns issuer code → new key id."""
        chosen = normalise_algorithm(algorithm) if algorithm is not None else None
        if chosen == SM2:
            from miaopi.licence.sm2 import _gmssl_sm2

            _gmssl_sm2()  # AlgorithmUnavailable with the install hint, before anything is written
        with self._lock, self._exclusive():
            document = self._read()
            issuers: dict[str, list[dict[str, str]]] = document.setdefault("issuers", {})
            codes = list(issuers) if issuer_codes is None else list(issuer_codes)
            unknown = [code for code in codes if code not in issuers]
            if unknown:
                raise LookupError(f"没有签发机关代码为 {', '.join(unknown)} 的密钥")
            new_keys = {
                code: self._new_key(
                    len(issuers[code]) + 1,
                    chosen or (_algorithm_of(issuers[code][-1]) if issuers[code] else ED25519),
                )
                for code in codes
            }
            rotated = {}
            for code in codes:
                keys = issuers[code]
                for key in keys:
                    key.pop("private", None)
                    key.setdefault("retired", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
                keys.append(new_keys[code])
                rotated[code] = keys[-1]["id"]
            if issuer_codes is None and chosen is not None:
                document["default_algorithm"] = chosen
            self._write(document)
        return rotated

    def _refresh(self) -> None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return
        stamp = (status.st_mtime_ns, status.st_ino)
        if stamp == self._stamp:
            return
        with self._lock:
            document = self._read()
            self._public_url = str(document.get("public_url") or self._public_url).rstrip("/")
            ring = KeyRing()
            signers: dict[str, Signer] = {}
            for code, keys in (document.get("issuers") or {}).items():
                issuer = f"{self._public_url}{API_PATH}/issuers/{code}"
                for key in keys:
                    key_id = f"{issuer}#{key['id']}"
                    sm2 = _algorithm_of(key) == SM2
                    if key.get("private"):
                        signer = self._load_signer(key_id, key, sm2)
                        ring.add_signer(signer, current=False)
                        signers[code] = signer
                    else:
                        ring.publish(self._load_public(key_id, key, sm2))
            self._ring, self._signers, self._stamp = ring, signers, stamp

    @staticmethod
    def _load_signer(key_id: str, key: dict[str, str], sm2: bool) -> Signer:
        if not sm2:
            return Ed25519Signer.from_multibase(key_id, key["private"])
        from miaopi.licence.sm2 import SM2Signer

        return SM2Signer.from_hex(key_id, key["private"], key["public"])

    @staticmethod
    def _load_public(key_id: str, key: dict[str, str], sm2: bool) -> VerificationKey:
        if not sm2:
            return Ed25519VerificationKey.from_multibase(key_id, key["public"])
        from miaopi.licence.sm2 import SM2VerificationKey

        return SM2VerificationKey.from_multibase(key_id, key["public"])

    # ---- what the rest of the package uses -------------------------------------------------------

    @property
    def public_url(self) -> str:
        self._refresh()
        return self._public_url

    def issuer_id(self, issuer_code: str) -> str:
        return f"{self.public_url}{API_PATH}/issuers/{issuer_code}"

    def status_list_url(self, list_id: str) -> str:
        return f"{self.public_url}{API_PATH}/status/{list_id}"

    def verification_base(self) -> str:
        """Where a licence's verification page is: ``<this>/<identifier>``."""
        return f"{self.public_url}{API_PATH}"

    def ring(self) -> KeyRing:
        """Every key ever used, for verification."""
        self._refresh()
        return self._ring

    def signer(self, issuer_code: str) -> Signer:
        """The issuer's current signing key."""
        self._refresh()
        signer = self._signers.get(issuer_code)
        if signer is None:
            raise LookupError(f"签发机关 {issuer_code} 没有可用的签名密钥（请运行 miaopi init）")
        return signer

    def algorithm(self, issuer_code: str) -> str:
        """``Ed25519`` or ``SM2``: what the issuer signs with now."""
        return self.signer(issuer_code).algorithm

    def issuers(self) -> list[str]:
        self._refresh()
        return sorted(self._signers)
