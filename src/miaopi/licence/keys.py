"""Issuer keys in the data directory: one Ed25519 key per issuing authority, rotated on demand.

``<data dir>/keys/licence-keys.json`` (mode 0600, never logged) holds, per issuer code, every key the
issuer ever used: the current one with its private half, earlier ones with their public half only
(a rotated key signs nothing more, but the licences it signed keep verifying). The file also fixes
the public base URL once, at creation: issuer ids, status list URLs and QR codes are built from it
and must not change afterwards.

    {"public_url": "https://…", "issuers": {"<issuer code>": [{"id": "key-1", "created": "…",
      "public": "z6Mk…", "private": "z3u2…"}, …]}}
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

from miaopi.licence.signing import Ed25519Signer, Ed25519VerificationKey, KeyRing

__all__ = ["API_PATH", "DEFAULT_PUBLIC_URL", "KeyStore"]

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
        self._signers: dict[str, Ed25519Signer] = {}
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
    def _new_key(number: int) -> dict[str, str]:
        signer = Ed25519Signer.generate(f"unused#key-{number}")
        return {
            "id": f"key-{number}",
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "public": signer.public_key().public_key_multibase,
            "private": signer.private_key_multibase,
        }

    def ensure(self, issuer_codes: Iterable[str]) -> list[str]:
        """Create the file and a key for every issuer that has none; returns the issuers given a key."""
        codes = sorted(set(issuer_codes))
        with self._lock, self._exclusive():
            document = self._read()
            issuers: dict[str, list[dict[str, str]]] = document.setdefault("issuers", {})
            created = [code for code in codes if not issuers.get(code)]
            for code in created:
                issuers[code] = [self._new_key(1)]
            if created or not self.path.exists():
                self._write(document)
        return created

    def rotate(self, issuer_codes: Iterable[str] | None = None) -> dict[str, str]:
        """A new current key for each issuer (all when None); earlier keys keep only their public half.
        Returns issuer code → new key id."""
        with self._lock, self._exclusive():
            document = self._read()
            issuers: dict[str, list[dict[str, str]]] = document.setdefault("issuers", {})
            codes = list(issuers) if issuer_codes is None else list(issuer_codes)
            unknown = [code for code in codes if code not in issuers]
            if unknown:
                raise LookupError(f"没有签发机关代码为 {', '.join(unknown)} 的密钥")
            rotated = {}
            for code in codes:
                keys = issuers[code]
                for key in keys:
                    key.pop("private", None)
                    key.setdefault("retired", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
                keys.append(self._new_key(len(keys) + 1))
                rotated[code] = keys[-1]["id"]
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
            signers: dict[str, Ed25519Signer] = {}
            for code, keys in (document.get("issuers") or {}).items():
                issuer = f"{self._public_url}{API_PATH}/issuers/{code}"
                for key in keys:
                    key_id = f"{issuer}#{key['id']}"
                    if key.get("private"):
                        signer = Ed25519Signer.from_multibase(key_id, key["private"])
                        ring.add_signer(signer, current=False)
                        signers[code] = signer
                    else:
                        ring.publish(Ed25519VerificationKey.from_multibase(key_id, key["public"]))
            self._ring, self._signers, self._stamp = ring, signers, stamp

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

    def signer(self, issuer_code: str) -> Ed25519Signer:
        """The issuer's current signing key."""
        self._refresh()
        signer = self._signers.get(issuer_code)
        if signer is None:
            raise LookupError(f"签发机关 {issuer_code} 没有可用的签名密钥（请运行 miaopi init）")
        return signer

    def issuers(self) -> list[str]:
        self._refresh()
        return sorted(self._signers)
